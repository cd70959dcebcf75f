package io.sockmap.instrument.channel;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The agent's thread that gives event-loop channels to the engine, one handover after another,
 * so that an event loop never waits for the dozen system calls of a handover. Started at the
 * first handover, ends after 30 s without one.
 */
final class HandoverThread {
    private final ThreadPoolExecutor executor = new ThreadPoolExecutor(1, 1, 30, TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(), r -> {
                Thread t = new Thread(r, "sockmap-handover");
                t.setDaemon(true);
                return t;
            });

    HandoverThread() {
        executor.allowCoreThreadTimeOut(true);
    }

    /** Queues {@code handover}; false if it cannot run (the thread could not be started). */
    boolean start(Runnable handover) {
        try {
            executor.execute(handover);
            return true;
        } catch (RejectedExecutionException | OutOfMemoryError e) {
            return false;
        }
    }
}
