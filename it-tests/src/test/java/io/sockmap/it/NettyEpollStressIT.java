package io.sockmap.it;

import static io.sockmap.it.BlockingProxyAgentIT.artifact;
import static io.sockmap.it.BlockingProxyAgentIT.currentJdk;
import static io.sockmap.it.BlockingProxyAgentIT.log;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Stress of Netty's epoll path (docs/CHANNELS.md "A duplicated block, explained"): the
 * HexDumpProxy-style relay on Netty 4.1 epoll relays many short echo connections in parallel
 * (256 KiB to 1.5 MiB each, so every connection goes through both handovers while both directions
 * are busy). The backend checks the client -> server bytes, the client the echo; a mismatch is
 * described by its first differing offset, where in the sent stream the bytes found there come
 * from, and which direction was hit.
 *
 * <p>Before the sequence guard (bpf/splice.c) it failed about 1 connection in 10,000 on the 2-core
 * test VM: a block of the echo arrived twice (a TCP retransmission overlapping received bytes,
 * redirected whole by the verdict path). Disabled because a meaningful run takes many minutes;
 * run it with
 * {@code mvn -Dmaven.repo.local=... -pl it-tests verify -Dtest=NettyEpollStressIT
 * -Djunit.jupiter.conditions.deactivate=org.junit.*DisabledCondition}
 * ({@code -Dsockmap.it.stress.connections=N}, default 2400, 4 at a time).
 */
@Disabled("long stress of the Netty epoll path (minutes); run it explicitly, see the class comment")
class NettyEpollStressIT {
    private static final int PARALLEL = 4;
    private static final int MIN_BYTES = 256 * 1024;
    private static final int MAX_BYTES = 1_500_000;

    @Test
    @Timeout(value = 900, unit = TimeUnit.SECONDS)
    void shortEchoBurstsThroughHexDumpStyleRelayOnEpollKeepEveryByte() throws Exception {
        int connections = Integer.getInteger("sockmap.it.stress.connections", 2400);
        String n41 = Path.of("target", "netty-4.1").toAbsolutePath() + "/*";
        String cp = Path.of("target", "test-classes").toAbsolutePath() + ":" + n41;
        ChannelProxyAgentIT.Proxy proxy = new ChannelProxyAgentIT.Proxy("HexDumpStyleRelay epoll 4.1", currentJdk(), cp,
                "io.sockmap.it.relays.HexDumpStyleRelay", List.of("--transport", "epoll"), false, 0);
        List<String> jvm = List.of("-javaagent:" + artifact("sockmap.agent.jar", "agent/target/sockmap-agent.jar"));
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        AtomicInteger done = new AtomicInteger();
        try (CheckingBackend backend = new CheckingBackend(failures);
             ChannelProxyAgentIT.Child relay = ChannelProxyAgentIT.Child.start(proxy, jvm, backend.port())) {
            relay.requireSplicing();
            List<Thread> clients = new ArrayList<>();
            for (int t = 0; t < PARALLEL; t++) {
                int id = t;
                Thread c = new Thread(() -> {
                    Random sizes = new Random(id);
                    for (int i = id; i < connections; i += PARALLEL) {
                        int size = MIN_BYTES + sizes.nextInt(MAX_BYTES - MIN_BYTES);
                        try {
                            String f = echo(relay.port, i, size);
                            if (f != null) failures.add(f);
                        } catch (IOException e) {
                            failures.add("connection " + i + ": " + e);
                        }
                        done.incrementAndGet();
                    }
                }, "stress-client-" + t);
                c.start();
                clients.add(c);
            }
            for (Thread c : clients) c.join();
            Thread.sleep(500); // the backend reports a c->s difference when that connection ends
        }
        log("NettyEpollStressIT: " + done.get() + " connections, " + failures.size() + " failures " + failures);
        assertTrue(failures.isEmpty(), failures.size() + " of " + done.get() + " connections lost their content: " + failures);
    }

    /** One echo of {@code size} bytes (stream seeded with {@code seed}); a description of the damage, or null. */
    private static String echo(int port, long seed, int size) throws IOException {
        byte[] sent = stream(seed, size);
        byte[] got = new byte[size];
        int total = 0;
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(60_000);
            Thread writer = new Thread(() -> {
                try {
                    DataOutputStream out = new DataOutputStream(s.getOutputStream());
                    out.writeLong(seed);
                    out.writeInt(size);
                    for (int off = 0; off < size; off += 64 * 1024) out.write(sent, off, Math.min(64 * 1024, size - off));
                    out.flush();
                } catch (IOException ignored) {
                    // the reader reports
                }
            });
            writer.start();
            InputStream in = s.getInputStream();
            while (total < size) {
                int n = in.read(got, total, size - total);
                if (n < 0) break;
                total += n;
            }
            try {
                writer.join(60_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (total < size) return "connection " + seed + ": echo ended after " + total + " of " + size + " bytes";
        int diff = Arrays.mismatch(sent, got);
        return diff < 0 ? null : "connection " + seed + " (" + size + " bytes), s->c: " + describe(sent, got, diff);
    }

    /** "first difference at X: bytes of the sent stream from Y (delta Y-X) for Z bytes". */
    static String describe(byte[] expected, byte[] got, int diff) {
        int k = Math.min(32, got.length - diff);
        int from = -1;
        for (int i = 0; i + k <= expected.length && k > 0; i++) {
            if (Arrays.equals(expected, i, i + k, got, diff, diff + k)) {
                from = i;
                break;
            }
        }
        int run = 0;
        if (from >= 0) {
            while (diff + run < got.length && from + run < expected.length && got[diff + run] == expected[from + run]) run++;
        }
        return "first difference at offset " + diff + (from < 0 ? ": bytes not found in the stream"
                : ": the stream's bytes from offset " + from + " (delta " + (from - diff) + ") for " + run + " bytes");
    }

    static byte[] stream(long seed, int size) {
        byte[] b = new byte[size];
        Random r = new Random(seed);
        byte[] chunk = new byte[64 * 1024];
        for (int off = 0; off < size; off += chunk.length) {
            r.nextBytes(chunk);
            System.arraycopy(chunk, 0, b, off, Math.min(chunk.length, size - off));
        }
        return b;
    }

    /** Echo backend that checks the client -> server bytes against the stream named in a 12-byte header. */
    static final class CheckingBackend extends ThreadPerConnectionServer {
        private final ConcurrentLinkedQueue<String> failures;

        CheckingBackend(ConcurrentLinkedQueue<String> failures) throws IOException {
            super("checking-backend");
            this.failures = failures;
            start();
        }

        @Override
        protected void serve(Socket s) {
            try (s) {
                DataInputStream in = new DataInputStream(s.getInputStream());
                long seed = in.readLong();
                int size = in.readInt();
                byte[] expected = stream(seed, size);
                byte[] got = new byte[size];
                byte[] buf = new byte[64 * 1024];
                long total = 0;
                int n;
                while ((n = in.read(buf)) >= 0) {
                    int keep = (int) Math.max(0, Math.min(n, size - total));
                    System.arraycopy(buf, 0, got, (int) Math.min(total, size), keep);
                    total += n;
                    s.getOutputStream().write(buf, 0, n);
                }
                int diff = Arrays.mismatch(expected, got);
                if (total != size || diff >= 0) {
                    failures.add("connection " + seed + " (" + size + " bytes), c->s: backend got " + total + " bytes"
                            + (diff >= 0 ? ", " + describe(expected, got, diff) : ""));
                }
                s.shutdownOutput();
            } catch (IOException ignored) {
                // the client reports
            }
        }
    }
}
