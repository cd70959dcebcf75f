package io.sockmap.it.engine;

import static io.sockmap.it.engine.EngineTestSupport.closeQuietly;
import static io.sockmap.it.engine.EngineTestSupport.connect;
import static io.sockmap.it.engine.EngineTestSupport.listen;
import static io.sockmap.it.engine.EngineTestSupport.log;
import static io.sockmap.it.engine.EngineTestSupport.openEngine;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sockmap.engine.DirectionListener;
import io.sockmap.engine.EngineConfig;
import io.sockmap.engine.SocketFds;
import io.sockmap.engine.SourceClose;
import io.sockmap.engine.SpliceEngine;
import io.sockmap.engine.SplicedDirection;
import io.sockmap.it.PatternStreams;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What a relay that does not support half-close does, on the engine alone: while the backend
 * keeps streaming through a spliced direction (b -> a), the relay closes the target a, then the
 * source b, leaving bytes unread in b. Each round checks the two faults this once had:
 * <ul>
 *   <li>the client must get an exact prefix of the backend's stream, even though the relay reads
 *       b in userspace once the direction is released and writes to a before closing it
 *       ({@code awaitDrained} must stop the redirects before it waits, or a userspace write
 *       overtakes bytes still queued for a in the kernel);
 *   <li>the backend's writes must fail within seconds ({@link SourceClose#prepare} makes the close
 *       of b a reset, as unread bytes do without the agent; without it the close sent a FIN with
 *       a zero window and the backend waited on it until that socket's time-wait state expired,
 *       about a minute).
 * </ul>
 */
class CloseOfSplicedSocketsIT {
    private static final long SEED = 77;
    private static final int ROUNDS = 8;

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void closingBothSocketsOfAStreamingDirectionKeepsAPrefixAndResetsTheSender() throws Exception {
        try (SpliceEngine engine = openEngine(new EngineConfig(64, 16L << 20, 30_000));
             ServerSocket proxyListen = listen("127.0.0.1", 0);
             ServerSocket backendListen = listen("127.0.0.1", 0)) {
            for (int round = 0; round < ROUNDS; round++) round(engine, proxyListen, backendListen, round);
        }
    }

    private static void round(SpliceEngine engine, ServerSocket proxyListen, ServerSocket backendListen, int round)
            throws Exception {
        Socket client = connect("127.0.0.1", proxyListen.getLocalPort(), 0);
        Socket a = proxyListen.accept();
        Socket b = connect("127.0.0.1", backendListen.getLocalPort(), 0);
        Socket backend = backendListen.accept();
        AtomicBoolean stop = new AtomicBoolean();
        try {
            PatternStreams.Sender sender = new PatternStreams.Sender(backend, SEED);
            CompletableFuture<IOException> sending = CompletableFuture.supplyAsync(() -> sender.sendUntilStopped(stop, 0));
            PatternStreams.Receiver atClient = new PatternStreams.Receiver(client, SEED, "close-of-spliced-client-" + round);

            SplicedDirection ba = engine.spliceDirection(SocketFds.of(b), SocketFds.of(a), false, new DirectionListener() {
                @Override
                public void onEof() {
                }

                @Override
                public void onAbort(IOException cause) {
                }
            });
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (ba.kernelBytes() < (4L << 20) && System.nanoTime() < deadline) Thread.sleep(5);
            assertTrue(ba.kernelBytes() >= (4L << 20), "round " + round + ": the kernel relays: " + ba.kernelBytes());

            // the relay closes a (the target): release first, as the agent's close hook does
            long start = System.nanoTime();
            boolean drained = ba.awaitDrained(30_000);
            long drainMillis = (System.nanoTime() - start) / 1_000_000;
            ba.detach();
            assertTrue(drained, "round " + round + ": drained");
            // its relay thread, woken, reads b in userspace and writes what it got to a
            byte[] chunk = new byte[16 * 1024];
            int n = b.getInputStream().read(chunk);
            if (n > 0) a.getOutputStream().write(chunk, 0, n);
            a.close();
            Thread.sleep(200); // nobody reads b: its queue fills
            boolean reset = SourceClose.prepare(SocketFds.of(b));
            b.close();

            atClient.await(10, "round " + round + ": the client");
            assertEquals(-1, atClient.mismatchAt(), "round " + round + ": the client got a prefix: " + atClient);
            assertEquals("eof", atClient.end(), "round " + round + ": the client got a prefix, then EOF");
            IOException failed;
            try {
                failed = sending.get(10, TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                throw new AssertionError("round " + round + ": the backend's writes neither failed nor ended 10 s after "
                        + "the relay closed both sockets (sent " + sender.sent() + ")", e);
            }
            assertTrue(failed != null, "round " + round + ": the backend's writes fail");
            log("close of spliced sockets, round " + round + ": drained in " + drainMillis + " ms, client got "
                    + atClient.received() + " of " + sender.sent() + ", close of the source " + (reset ? "reset" : "sent a FIN")
                    + ", backend's writes ended with " + failed);
        } finally {
            stop.set(true);
            closeQuietly(client, a, b, backend);
        }
    }
}
