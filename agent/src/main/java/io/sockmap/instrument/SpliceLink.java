package io.sockmap.instrument;

import io.sockmap.engine.DirectionListener;
import io.sockmap.engine.SplicedDirection;

import java.io.IOException;
import java.net.Socket;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

/**
 * One direction handed to the engine, seen from the application: the outcome a parked
 * {@code read(source)} returns, and the release done before either socket is closed. Holds
 * strong references to both sockets until released, so no {@code Cleaner} closes an fd the
 * engine still uses.
 */
final class SpliceLink implements DirectionListener, AgentPairs.Paired {
    /** The kernel relays; a read of the source parks. */
    static final int LIVE = 0;
    /** The source reached EOF and every byte is in the target's send queue: reads return -1. */
    static final int EOF = 1;
    /** Aborted (reset, error, drain timeout): reads throw "Connection reset". */
    static final int RESET = 2;
    /** The application closed the source: reads throw "Socket closed". */
    static final int SOURCE_CLOSED = 3;
    /** The application closed the target: the engine let go; reads of the source run in userspace again. */
    static final int DETACHED = 4;

    final TrackedSocket source;
    final TrackedSocket target;
    private volatile Socket sourceSocket;
    private volatile Socket targetSocket;
    private volatile SplicedDirection direction;
    private volatile int outcome = LIVE;
    private volatile IOException abortCause;
    private volatile Thread waiter;
    private final AtomicBoolean released = new AtomicBoolean();
    private volatile boolean releaseRequested;
    private volatile long releaseDrainMillis;
    private volatile int releaseOutcome;
    private final SocketRegistry registry;
    /** This direction's place in the pair counts; set by the handover before the engine sees the direction. */
    volatile AgentPairs.Member pair;

    @Override
    public AgentPairs.Member reverseMember() {
        SpliceLink reverse = target.asSource;
        return reverse != null && reverse != this && reverse.target == source ? reverse.pair : null;
    }

    @Override
    public void member(AgentPairs.Member m) {
        pair = m;
    }

    SpliceLink(TrackedSocket source, Socket sourceSocket, TrackedSocket target, Socket targetSocket, SocketRegistry registry) {
        this.source = source;
        this.target = target;
        this.sourceSocket = sourceSocket;
        this.targetSocket = targetSocket;
        this.registry = registry;
    }

    int outcome() { return outcome; }

    IOException abortCause() { return abortCause; }

    SplicedDirection direction() { return direction; }

    Socket sourceSocket() { return sourceSocket; }

    Socket targetSocket() { return targetSocket; }

    /** The engine accepted the direction; runs a release that a close requested meanwhile. */
    void attached(SplicedDirection d) {
        direction = d;
        if (releaseRequested) release(releaseDrainMillis, releaseOutcome);
    }

    /** The engine refused: nothing to release, only the references to drop; a reader goes back to userspace. */
    void refused() {
        released.set(true);
        finish(DETACHED);
        dropReferences();
    }

    @Override
    public void onEof() {
        finish(EOF);
    }

    /** The engine is closing and handed the drained direction back: a parked reader reads in userspace again. */
    @Override
    public void onReturned() {
        released.set(true);
        finish(DETACHED);
        dropReferences();
    }

    @Override
    public void onAbort(IOException cause) {
        abortCause = cause;
        resetOnClose();
        finish(RESET);
    }

    /**
     * An aborted direction may have lost bytes the kernel held: its sockets must close with a
     * reset ({@code SO_LINGER} 0), so both peers see an error rather than a clean EOF after a
     * truncated stream, whenever the application (or the JVM's exit) closes them.
     */
    private void resetOnClose() {
        for (Socket s : new Socket[] {sourceSocket, targetSocket}) {
            if (s == null) continue;
            try {
                s.setSoLinger(true, 0);
            } catch (IOException | RuntimeException ignored) {
                // already closed
            }
        }
    }

    /**
     * Before the application closes one of the sockets: waits (bounded) for the bytes the kernel
     * took from the source to reach the target's send queue, detaches the direction from the
     * engine, drops the strong references and wakes a parked reader with {@code closedOutcome}
     * (unless it already ended). Idempotent; safe from any thread.
     */
    void release(long drainMillis, int closedOutcome) {
        SplicedDirection d = awaitAttached(drainMillis);
        if (d == null) {
            // refused, or spliceDirection still running on the relay thread: it releases once attached
            releaseDrainMillis = drainMillis;
            releaseOutcome = closedOutcome;
            releaseRequested = true;
            if (direction == null) return;
            d = direction;
        }
        if (!released.compareAndSet(false, true)) return;
        boolean drained = false;
        try {
            try {
                drained = d.awaitDrained(d.isDone() ? 0 : drainMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        } catch (RuntimeException ignored) {
            // detach anyway
        } finally {
            // bytes the kernel still holds would be dropped by the close: make it a reset
            if (!drained) resetOnClose();
            try {
                d.detach();
            } catch (RuntimeException ignored) {
                // the engine must let go of the fds whatever happens
            }
            finish(closedOutcome);
            dropReferences();
        }
    }

    boolean isReleased() { return released.get(); }

    private void dropReferences() {
        sourceSocket = null;
        targetSocket = null;
        if (target.asTarget == this) target.asTarget = null;
        registry.removeLive(this);
    }

    /** The handover runs on the relay thread and is short: wait for it rather than close an fd under it. */
    private SplicedDirection awaitAttached(long maxMillis) {
        SplicedDirection d = direction;
        long deadline = System.nanoTime() + maxMillis * 1_000_000L;
        long pause = 100_000L;
        while (d == null && !released.get() && System.nanoTime() - deadline < 0) {
            // usually microseconds; backs off so that many closes racing slow handovers do not spin
            LockSupport.parkNanos(this, pause);
            pause = Math.min(pause * 2, 20_000_000L);
            d = direction;
        }
        return d;
    }

    private void finish(int to) {
        boolean ended;
        synchronized (this) {
            ended = outcome == LIVE;
            if (ended) outcome = to;
        }
        AgentPairs.Member m = pair;
        if (ended && m != null) registry.pairs().ended(m);
        Thread w = waiter;
        if (w != null) LockSupport.unpark(w);
    }

    /** Registers {@code t} as the parked reader to wake; false if another reader holds the slot. */
    boolean addWaiter(Thread t) {
        synchronized (this) {
            if (waiter != null && waiter != t) return false;
            waiter = t;
            return true;
        }
    }

    void removeWaiter(Thread t) {
        synchronized (this) {
            if (waiter == t) waiter = null;
        }
    }
}
