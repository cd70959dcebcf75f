package io.sockmap.it.engine;

import static io.sockmap.it.engine.EngineTestSupport.closeQuietly;
import static io.sockmap.it.engine.EngineTestSupport.connect;
import static io.sockmap.it.engine.EngineTestSupport.listen;
import static io.sockmap.it.engine.EngineTestSupport.log;
import static io.sockmap.it.engine.EngineTestSupport.openEngine;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sockmap.engine.DirectionListener;
import io.sockmap.engine.EngineConfig;
import io.sockmap.engine.MapEntries;
import io.sockmap.engine.SocketFds;
import io.sockmap.engine.SpliceEngine;
import io.sockmap.engine.SpliceRefusedException;
import io.sockmap.engine.SplicedDirection;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Regression test for a hang found by the soak: with one direction (a -> b) already spliced, the
 * socket b is registered with the engine's edge-triggered epoll as a target. If b's peer sends
 * its last bytes and FIN while b -> a is being handed over (after the handover drain read b to
 * EAGAIN, before b -> a was registered), the RDHUP edge was consumed while b had no source role,
 * and b -> a never saw its EOF: the client waited forever. Each round here sends the FIN at a
 * random moment around the second handover; the client must always get every byte and EOF.
 */
class EofDuringHandoverIT {
    private static final int ROUNDS = 100;

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aFinArrivingDuringTheHandoverIsPropagated() throws Exception {
        Random random = new Random(42);
        try (SpliceEngine engine = openEngine(new EngineConfig(1024, 1 << 20, 5000));
             ServerSocket proxyListen = listen("127.0.0.1", 0);
             ServerSocket backendListen = listen("127.0.0.1", 0)) {
            int refused = 0;
            for (int round = 0; round < ROUNDS; round++) {
                if (!round(engine, proxyListen, backendListen, random, round)) refused++;
            }
            log("EOF during handover: " + ROUNDS + " rounds, " + refused + " saw the FIN in the handover drain (refused)");
            Thread.sleep(1200); // released slots leave their quarantine
            MapEntries left = engine.mapEntries();
            assertTrue(left.empty(), "nothing left in the maps: " + left);
        }
    }

    /** One connection; returns false if the second handover was refused (FIN seen while draining). */
    private static boolean round(SpliceEngine engine, ServerSocket proxyListen, ServerSocket backendListen, Random random,
                                 int round) throws Exception {
        Socket client = connect("127.0.0.1", proxyListen.getLocalPort(), 0);
        Socket a = proxyListen.accept();
        Socket b = connect("127.0.0.1", backendListen.getLocalPort(), 0);
        Socket backend = backendListen.accept();
        try {
            int fdA = SocketFds.of(a);
            int fdB = SocketFds.of(b);
            Propagate abEof = new Propagate(b);
            SplicedDirection ab = engine.spliceDirection(fdA, fdB, true, abEof);

            byte[] payload = new byte[1024 + random.nextInt(64 * 1024)];
            random.nextBytes(payload);
            long delayNanos = random.nextInt(1_500_000);
            CompletableFuture<Void> send = CompletableFuture.runAsync(() -> {
                LockSupport.parkNanos(delayNanos);
                try {
                    OutputStream out = backend.getOutputStream();
                    out.write(payload);
                    backend.shutdownOutput();
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            Propagate baEof = new Propagate(a);
            SplicedDirection ba = null;
            boolean spliced = true;
            try {
                ba = engine.spliceDirection(fdB, fdA, false, baEof);
            } catch (SpliceRefusedException e) {
                // the FIN came before the drain ended: what the engine read is in a; relay the rest here
                spliced = false;
                relayToEof(b, a);
            }
            send.get(10, TimeUnit.SECONDS);

            client.setSoTimeout(5000);
            byte[] got = readToEof(client.getInputStream(), "round " + round + " (FIN " + delayNanos / 1000
                    + " us after the first handover, b->a " + (spliced ? "spliced" : "refused") + ")");
            assertArrayEquals(payload, got, "round " + round + ": the client got the backend's bytes");

            client.shutdownOutput();
            backend.setSoTimeout(5000);
            assertEquals(-1, backend.getInputStream().read(), "round " + round + ": the client's EOF reached the backend");
            assertTrue(abEof.done.get(5, TimeUnit.SECONDS));
            ab.detach();
            if (ba != null) ba.detach();
            return spliced;
        } finally {
            closeQuietly(client, a, b, backend);
        }
    }

    private static byte[] readToEof(InputStream in, String what) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[64 * 1024];
        int n;
        try {
            while ((n = in.read(buf)) != -1) out.write(buf, 0, n);
        } catch (java.net.SocketTimeoutException e) {
            throw new AssertionError(what + ": no EOF within 5 s after " + out.size() + " bytes: the FIN was not propagated", e);
        }
        return out.toByteArray();
    }

    private static void relayToEof(Socket from, Socket to) throws IOException {
        InputStream in = from.getInputStream();
        OutputStream out = to.getOutputStream();
        byte[] buf = new byte[64 * 1024];
        int n;
        while ((n = in.read(buf)) != -1) out.write(buf, 0, n);
        to.shutdownOutput();
    }

    /** The application's part of a spliced direction's EOF: shut down the target's output. */
    private static final class Propagate implements DirectionListener {
        final CompletableFuture<Boolean> done = new CompletableFuture<>();
        private final Socket target;

        Propagate(Socket target) {
            this.target = target;
        }

        @Override
        public void onEof() {
            try {
                target.shutdownOutput();
                done.complete(true);
            } catch (IOException e) {
                done.completeExceptionally(e);
            }
        }

        @Override
        public void onAbort(IOException cause) {
            done.completeExceptionally(cause);
        }
    }
}
