package io.sockmap.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sockmap.engine.EngineConfig;
import io.sockmap.engine.SpliceEngine;
import io.sockmap.engine.SplicedPair;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.MessageDigest;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The smallest end-to-end proof: one pair spliced through the API, content checked both ways. */
class EngineSmokeIT {
    @Test
    @Timeout(120)
    void splicesOnePairBothWays() throws Exception {
        long bytes = 64L << 20;
        try (SpliceEngine engine = SpliceEngine.open(EngineConfig.defaults());
             ServerSocket backendListener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
             ServerSocket proxyListener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            CompletableFuture<byte[]> backendGot = new CompletableFuture<>();
            CompletableFuture<Void> spliced = new CompletableFuture<>();
            Thread backend = new Thread(() -> {
                try (Socket s = backendListener.accept()) {
                    spliced.get(30, TimeUnit.SECONDS);
                    Thread w = sender(s.getOutputStream(), bytes, 2, s);
                    backendGot.complete(drain(s.getInputStream()));
                    w.join();
                } catch (Exception e) {
                    backendGot.completeExceptionally(e);
                }
            });
            backend.start();
            Socket client = new Socket(InetAddress.getLoopbackAddress(), proxyListener.getLocalPort());
            Socket accepted = proxyListener.accept();
            Socket upstream = new Socket(InetAddress.getLoopbackAddress(), backendListener.getLocalPort());
            CompletableFuture<String> clientRead = CompletableFuture.supplyAsync(() -> {
                try {
                    return compare(client.getInputStream(), 2);
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            SplicedPair pair = engine.splice(accepted, upstream);
            spliced.complete(null);
            Thread cw = sender(client.getOutputStream(), bytes, 1, client);
            String clientDiag = clientRead.get(60, TimeUnit.SECONDS);
            cw.join();
            System.out.println("client got " + clientDiag);
            assertTrue(clientDiag.equals("total " + bytes + " firstBad -1"), "backend -> client content: " + clientDiag);
            assertArrayEquals(expected(bytes, 1), backendGot.get(60, TimeUnit.SECONDS), "client -> backend content");
            pair.completion().get(30, TimeUnit.SECONDS);
            System.out.println(engine.stats());
            System.out.printf("kernel a->b %d b->a %d, userspace a->b %d b->a %d%n",
                    pair.aToB().kernelBytes(), pair.bToA().kernelBytes(),
                    pair.aToB().userspaceBytes(), pair.bToA().userspaceBytes());
            assertTrue(pair.aToB().kernelBytes() >= bytes * 99 / 100, "a->b moved by the kernel");
            assertTrue(pair.bToA().kernelBytes() >= bytes * 99 / 100, "b->a moved by the kernel");
            client.close();
        }
    }

    static Thread sender(OutputStream out, long bytes, long seed, Socket s) {
        Thread t = new Thread(() -> {
            try {
                Random r = new Random(seed);
                byte[] buf = new byte[64 * 1024];
                long left = bytes;
                while (left > 0) {
                    r.nextBytes(buf);
                    int n = (int) Math.min(buf.length, left);
                    out.write(buf, 0, n);
                    left -= n;
                }
                s.shutdownOutput();
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        t.start();
        return t;
    }

    static byte[] expected(long bytes, long seed) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        Random r = new Random(seed);
        byte[] buf = new byte[64 * 1024];
        long left = bytes;
        while (left > 0) {
            r.nextBytes(buf);
            int n = (int) Math.min(buf.length, left);
            md.update(buf, 0, n);
            left -= n;
        }
        return md.digest();
    }

    static byte[] drain(InputStream in) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        byte[] buf = new byte[64 * 1024];
        int n;
        while ((n = in.read(buf)) >= 0) md.update(buf, 0, n);
        return md.digest();
    }

    /** Diagnostic: compares a stream to the seeded one and says where they first differ. */
    static String compare(InputStream in, long seed) throws Exception {
        Random r = new Random(seed);
        byte[] exp = new byte[64 * 1024];
        int expPos = exp.length;
        byte[] buf = new byte[64 * 1024];
        long total = 0;
        long firstBad = -1;
        int n;
        while ((n = in.read(buf)) >= 0) {
            for (int i = 0; i < n; i++) {
                if (expPos == exp.length) {
                    r.nextBytes(exp);
                    expPos = 0;
                }
                if (firstBad < 0 && buf[i] != exp[expPos]) firstBad = total + i;
                expPos++;
            }
            total += n;
        }
        return "total " + total + " firstBad " + firstBad;
    }
}
