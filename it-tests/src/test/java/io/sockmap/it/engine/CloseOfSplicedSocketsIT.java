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
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
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
            AtomicLong sent = new AtomicLong();
            CompletableFuture<IOException> sending = CompletableFuture.supplyAsync(() -> send(backend, sent, stop));
            AtomicLong received = new AtomicLong();
            CompletableFuture<String> reading = CompletableFuture.supplyAsync(() -> receive(client, received));

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

            assertEquals("eof", reading.get(10, TimeUnit.SECONDS), "round " + round + ": the client got a prefix, then EOF");
            IOException failed;
            try {
                failed = sending.get(10, TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                throw new AssertionError("round " + round + ": the backend's writes neither failed nor ended 10 s after "
                        + "the relay closed both sockets (sent " + sent.get() + ")", e);
            }
            assertTrue(failed != null, "round " + round + ": the backend's writes fail");
            log("close of spliced sockets, round " + round + ": drained in " + drainMillis + " ms, client got "
                    + received.get() + " of " + sent.get() + ", close of the source " + (reset ? "reset" : "sent a FIN")
                    + ", backend's writes ended with " + failed);
        } finally {
            stop.set(true);
            closeQuietly(client, a, b, backend);
        }
    }

    /** Streams the pattern until a write fails (returned) or {@code stop}. */
    private static IOException send(Socket s, AtomicLong sent, AtomicBoolean stop) {
        byte[] buf = new byte[64 * 1024];
        try {
            OutputStream out = s.getOutputStream();
            while (!stop.get()) {
                PatternStreams.fill(SEED, sent.get(), buf, 0, buf.length);
                out.write(buf);
                sent.addAndGet(buf.length);
            }
            return null;
        } catch (IOException e) {
            return e;
        }
    }

    /** Reads to EOF or an error, checking each byte against the pattern; "eof", or what went wrong. */
    private static String receive(Socket s, AtomicLong received) {
        byte[] buf = new byte[64 * 1024];
        byte[] expected = new byte[buf.length];
        try {
            InputStream in = s.getInputStream();
            int n;
            while ((n = in.read(buf)) != -1) {
                PatternStreams.fill(SEED, received.get(), expected, 0, n);
                for (int i = 0; i < n; i++) {
                    if (buf[i] != expected[i]) return "byte " + (received.get() + i) + " is not the one sent there";
                }
                received.addAndGet(n);
            }
            return "eof";
        } catch (IOException e) {
            return "error: " + e;
        }
    }
}
