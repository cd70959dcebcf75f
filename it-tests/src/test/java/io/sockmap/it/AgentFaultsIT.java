package io.sockmap.it;

import static io.sockmap.it.BlockingProxyAgentIT.artifact;
import static io.sockmap.it.BlockingProxyAgentIT.currentJdk;
import static io.sockmap.it.BlockingProxyAgentIT.log;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.sockmap.it.BlockingProxyAgentIT.Child;
import io.sockmap.it.BlockingProxyAgentIT.Transfer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Faults around a proxy running the packaged agent (example {@code ThreadPairProxy} in a child
 * JVM, spliced after 64 KiB): an endpoint killed with SIGKILL mid-stream, a full map, the proxy's
 * JVM stopped with bytes in flight, the engine's watcher failing (test-only fault injection
 * {@code -Dsockmap.test.failWatcherAfter}), bad configuration, a missing or corrupt BPF object
 * ({@code -Dsockmap.test.bpfObject}). In every case: no byte is lost or reordered silently, no
 * side hangs, and the proxy keeps serving. Needs what {@link BlockingProxyAgentIT} needs.
 */
class AgentFaultsIT {
    private static final long MIB = 1L << 20;
    private static final Pattern FALLBACKS = Pattern.compile("fallbacks \\{([^}]*)}, aborts (\\d+)");

    @TempDir
    Path tmp;

    static List<String> agent(String args, String... more) {
        Path jar = artifact("sockmap.agent.jar", "agent/target/sockmap-agent.jar");
        List<String> out = new ArrayList<>();
        out.add("-javaagent:" + jar + (args == null ? "" : "=" + args));
        out.addAll(List.of(more));
        return out;
    }

    // ------------------------------------------------------------------ SIGKILL mid-stream

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void backendKilledMidStream() throws Exception {
        try (Child backend = Child.start(currentJdk(), List.of(), "Backend", "--mode", "echo");
             Child proxy = Child.start(currentJdk(), agent("logLevel=debug"), "ThreadPairProxy",
                     "--target", "127.0.0.1:" + backend.port)) {
            proxy.requireSplicing();
            try (Socket client = new Socket(InetAddress.getLoopbackAddress(), proxy.port)) {
                Stream s = Stream.start(client);
                s.awaitReceived(8 * MIB, 30);
                awaitSpliced(proxy, 2);
                backend.process.destroyForcibly(); // SIGKILL
                s.assertEndsWithoutHang(20, "after the backend was killed");
                log("backend killed: client sent " + s.sent.get() + " B, got " + s.received.get() + " B back, then "
                        + s.readEnd.get());
            }
            assertProxyServesAfterwards(proxy, null);
        }
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void clientKilledMidStream() throws Exception {
        try (ServerSocket backendListen = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
             Child proxy = Child.start(currentJdk(), agent("logLevel=debug"), "ThreadPairProxy",
                     "--target", "127.0.0.1:" + backendListen.getLocalPort())) {
            proxy.requireSplicing();
            Process client = new ProcessBuilder(java(), "-cp", testClasses(), StreamClient.class.getName(),
                    String.valueOf(proxy.port)).redirectErrorStream(true).start();
            try (Socket backend = backendListen.accept()) {
                Stream s = Stream.start(backend); // the backend streams back too and checks what it gets
                s.awaitReceived(8 * MIB, 30);
                awaitSpliced(proxy, 2);
                client.destroyForcibly(); // SIGKILL
                s.assertEndsWithoutHang(20, "after the client was killed");
                log("client killed: backend got " + s.received.get() + " B (a prefix, checked), then " + s.readEnd.get());
            } finally {
                client.destroyForcibly();
            }
        }
    }

    // ------------------------------------------------------------------ a full map

    /**
     * Event-loop proxies hand over on the agent's handover thread while their reads answer
     * "nothing now": a refused handover must give the source back to the loop (Netty's epoll
     * transport is edge-triggered, so it must be woken), and every byte must still arrive.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"ThreadPairProxy", "NioSelectorProxy", "NettyProxy --transport epoll"})
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void aFullMapRelaysTheExtraPairInUserspace(String proxyAndArgs) throws Exception {
        int maxPairs = 2;
        String[] words = proxyAndArgs.split(" ");
        try (Child backend = Child.start(currentJdk(), List.of(), "Backend", "--mode", "echo");
             Child proxy = Child.start(currentJdk(), agent("maxPairs=" + maxPairs + ",logLevel=debug"), words[0],
                     proxyArgs(words, backend.port))) {
            proxy.requireSplicing();
            // maxPairs + 1 connections open at once, each past the splice threshold both ways
            List<Socket> clients = new ArrayList<>();
            List<Stream> streams = new ArrayList<>();
            for (int i = 0; i <= maxPairs; i++) {
                Socket c = new Socket(InetAddress.getLoopbackAddress(), proxy.port);
                clients.add(c);
                Stream s = Stream.start(c, 24 * MIB);
                streams.add(s);
                s.awaitReceived(2 * MIB, 30);
            }
            for (Stream s : streams) s.assertCompleteAndCorrect(60);
            for (Socket c : clients) c.close();
            long[] fb = stopAndReadFallbacks(proxy, "MAP_FULL");
            assertTrue(fb[0] >= 2, "both directions of the extra pair fell back with MAP_FULL: " + proxy.stderrText());
            assertEquals(1, proxy.stderr.stream().filter(l -> l.contains("WARN kernel splicing refused (MAP_FULL")).count(),
                    "one log line for the reason:\n" + proxy.stderrText());
            assertEquals(0, fb[1], "no abort");
        }
    }

    // ------------------------------------------------------------------ JVM shutdown with bytes in flight

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void shutdownWithPairsInFlightDrainsOrResetsNeverTruncates() throws Exception {
        long total = 2048 * MIB;
        try (ServerSocket backendListen = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
             Child proxy = Child.start(currentJdk(), agent("logLevel=debug,drainTimeout=3s"), "ThreadPairProxy",
                     "--target", "127.0.0.1:" + backendListen.getLocalPort())) {
            proxy.requireSplicing();
            try (Socket client = new Socket(InetAddress.getLoopbackAddress(), proxy.port);
                 Socket backend = backendListen.accept()) {
                Stream up = Stream.start(client, total); // client -> backend, then half-close
                // the backend only reads (and checks): no half-close, which would make the proxy's
                // client socket not ESTABLISHED and so not spliceable
                Stream down = Stream.start(backend, -1);
                down.awaitReceived(16 * MIB, 30);
                awaitSpliced(proxy, 1);
                long t0 = System.nanoTime();
                proxy.process.toHandle().destroy(); // SIGTERM while bytes are in flight
                assertTrue(proxy.process.waitFor(30, TimeUnit.SECONDS), "the proxy JVM exits within 30 s");
                long exitMillis = (System.nanoTime() - t0) / 1_000_000;
                down.assertEndsWithoutHang(20, "after the proxy stopped");
                up.assertEndsWithoutHang(20, "after the proxy stopped");
                boolean backendGotAll = down.received.get() == total && down.readEnd.get().equals("EOF");
                boolean someoneSawError = down.readEnd.get().startsWith("error") || up.readEnd.get().startsWith("error")
                        || up.writeEnd.get().startsWith("error");
                log("shutdown in flight: proxy exited in " + exitMillis + " ms; backend got " + down.received.get() + " of "
                        + total + " B then " + down.readEnd.get() + "; client write " + up.writeEnd.get() + ", read "
                        + up.readEnd.get());
                assertTrue(backendGotAll || someoneSawError, "a truncated stream must end in an error on some side, never"
                        + " in a clean EOF on both: backend " + down.received.get() + " B then " + down.readEnd.get()
                        + ", client write " + up.writeEnd.get() + ", read " + up.readEnd.get());
            }
        }
    }

    // ------------------------------------------------------------------ the watcher failing

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void watcherFailureAbortsItsPairsAndTheProxyKeepsServing() throws Exception {
        try (Child backend = Child.start(currentJdk(), List.of(), "Backend", "--mode", "echo");
             Child proxy = Child.start(currentJdk(), agent("logLevel=debug", "-Dsockmap.test.failWatcherAfter=2"),
                     "ThreadPairProxy", "--target", "127.0.0.1:" + backend.port)) {
            proxy.requireSplicing();
            // the first pair is spliced, then the watcher fails: it must end in an error, or complete correctly
            try (Socket client = new Socket(InetAddress.getLoopbackAddress(), proxy.port)) {
                Stream s = Stream.start(client, 64 * MIB);
                s.assertEndsWithoutHang(60, "after the watcher failed");
                boolean complete = s.sent.get() == 64 * MIB && s.received.get() == 64 * MIB && s.readEnd.get().equals("EOF");
                assertTrue(complete || s.readEnd.get().startsWith("error") || s.writeEnd.get().startsWith("error"),
                        "either every byte or an error: " + s);
                log("watcher failure: first connection " + s);
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (proxy.stderr.stream().noneMatch(l -> l.contains("sockmap watcher failed")) && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertTrue(proxy.stderr.stream().anyMatch(l -> l.contains("sockmap watcher failed")), proxy.stderrText());
            // new connections still work, in userspace now
            for (int i = 0; i < 3; i++) {
                Transfer t = Transfer.run(proxy.port, 8 * MIB, false);
                assertEquals(t.sent, t.received, "connection " + i + " after the watcher failure");
            }
            assertTrue(proxy.process.isAlive());
            long[] fb = stopAndReadFallbacks(proxy, "ENGINE_CLOSED");
            assertTrue(fb[0] >= 1, "later pairs fell back with ENGINE_CLOSED\n" + proxy.stderrText());
        }
    }

    // ------------------------------------------------------------------ bad input

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void badConfigurationStillProxiesAndSplices() throws Exception {
        try (Child backend = Child.start(currentJdk(), List.of(), "Backend", "--mode", "echo");
             Child proxy = Child.start(currentJdk(),
                     agent("maxPairs=0,minBytes=lots,ports=99999,drainTimeout=5,logLevel=loud,enabled=yes",
                             "-Dsockmap.maxInflight=1k", "-Dsockmap.failHard=maybe", "-Dsockmap.skipAddresses=10.0.0.300/8",
                             "-Dsockmap.colour=red"),
                     "ThreadPairProxy", "--target", "127.0.0.1:" + backend.port)) {
            proxy.requireSplicing();
            Transfer t = Transfer.run(proxy.port, 32 * MIB, false);
            assertEquals(t.sent, t.received, "SHA-256 both ways through the badly configured proxy");
            List<String> warnings = proxy.stderr.stream().filter(l -> l.startsWith("[sockmap] WARN ignoring")).toList();
            for (String key : List.of("maxPairs", "minBytes", "ports", "drainTimeout", "logLevel", "enabled",
                    "maxInflight", "failHard", "skipAddresses", "colour")) {
                assertEquals(1, warnings.stream().filter(l -> l.contains(key + "=\"")).count(), key + ": one line\n" + warnings);
            }
            long[] kernel = proxy.stopAndReadSummary();
            assertTrue(kernel[0] + kernel[1] > 32 * MIB, "spliced with the defaults: " + proxy.stderrText());
        }
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void missingOrCorruptBpfObjectRunsUnacceleratedWithOneClearLine() throws Exception {
        Path corrupt = tmp.resolve("corrupt.o");
        Files.write(corrupt, new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, (byte) 0xf7, 0});
        Path missing = tmp.resolve("missing.o");
        for (Path object : List.of(corrupt, missing)) {
            try (Child backend = Child.start(currentJdk(), List.of(), "Backend", "--mode", "echo");
                 Child proxy = Child.start(currentJdk(), agent(null, "-Dsockmap.test.bpfObject=" + object),
                         "ThreadPairProxy", "--target", "127.0.0.1:" + backend.port)) {
                String startUp = awaitLine(proxy, "sockmap-agent ");
                assertTrue(startUp.contains(": off: unavailable: BPF object " + (object == missing ? "missing: cannot read "
                        + missing : corrupt + " (sockmap.test.bpfObject) is corrupt: ")), startUp);
                Transfer t = Transfer.run(proxy.port, 8 * MIB, false);
                assertEquals(t.sent, t.received, "unaccelerated and correct");
                long[] kernel = proxy.stopAndReadSummary();
                assertEquals(0, kernel[0] + kernel[1]);
                assertEquals(0, proxy.stderr.stream().filter(l -> l.contains("[sockmap] ERROR")).count(), proxy.stderrText());
            }
        }
    }

    // ------------------------------------------------------------------ helpers

    private static void assertProxyServesAfterwards(Child proxy, String note) {
        assertTrue(proxy.process.isAlive(), "the proxy is still running" + (note == null ? "" : ": " + note));
    }

    static String awaitLine(Child c, String fragment) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            for (String l : c.stderr) if (l.contains(fragment)) return l;
            Thread.sleep(20);
        }
        fail("no line with '" + fragment + "' within 30 s:\n" + c.stderrText());
        return null;
    }

    /** {@code --target} the backend, then the words after the proxy's name. */
    private static String[] proxyArgs(String[] words, int port) {
        List<String> out = new ArrayList<>(List.of("--target", "127.0.0.1:" + port));
        out.addAll(List.of(words).subList(1, words.length));
        return out.toArray(new String[0]);
    }

    /** Waits until the proxy logged at least {@code n} spliced directions. */
    static void awaitSpliced(Child proxy, int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            if (proxy.stderr.stream().filter(l -> l.contains("DEBUG spliced ")).count() >= n) return;
            Thread.sleep(20);
        }
        fail("fewer than " + n + " spliced directions within 30 s:\n" + proxy.stderrText());
    }

    /** SIGTERM; {count of fallbacks for reason, aborts} from the summary line. */
    static long[] stopAndReadFallbacks(Child proxy, String reason) throws Exception {
        proxy.stopAndReadSummary();
        for (String l : proxy.stderr) {
            Matcher m = FALLBACKS.matcher(l);
            if (!l.contains("summary:") || !m.find()) continue;
            long n = 0;
            for (String kv : m.group(1).split(",\\s*")) {
                if (kv.startsWith(reason + "=")) n = Long.parseLong(kv.substring(reason.length() + 1));
            }
            return new long[] {n, Long.parseLong(m.group(2))};
        }
        fail("no summary line:\n" + proxy.stderrText());
        return null;
    }

    static String java() {
        return currentJdk().resolve("bin/java").toString();
    }

    static String testClasses() throws Exception {
        return Path.of(AgentFaultsIT.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    }

    /** Byte {@code p} of the test stream: anyone can check a prefix without keeping the bytes. */
    static byte at(long p) {
        long z = (p >>> 3) * 0x9E3779B97F4A7C15L;
        z ^= z >>> 29;
        return (byte) ((z >>> ((p & 7) << 3)) ^ p);
    }

    /**
     * Writes the test stream ({@code limit} bytes then half-close, or until an error) and reads
     * the peer's stream on another thread, checking every received byte against {@link #at}: what
     * arrives must be an exact prefix of what was sent, whatever happens after.
     */
    static final class Stream {
        final AtomicLong sent = new AtomicLong();
        final AtomicLong received = new AtomicLong();
        final CompletableFuture<String> writeEnd = new CompletableFuture<>();
        final CompletableFuture<String> readEnd = new CompletableFuture<>();
        private final long limit;

        private Stream(long limit) {
            this.limit = limit;
        }

        static Stream start(Socket s) {
            return start(s, Long.MAX_VALUE);
        }

        static Stream start(Socket s, long limit) {
            Stream st = new Stream(limit);
            Thread w = new Thread(() -> st.write(s), "stream-writer");
            Thread r = new Thread(() -> st.read(s), "stream-reader");
            w.setDaemon(true);
            r.setDaemon(true);
            w.start();
            r.start();
            return st;
        }

        private void write(Socket s) {
            if (limit < 0) {
                writeEnd.complete("done"); // a reader only
                return;
            }
            byte[] buf = new byte[64 * 1024];
            try {
                OutputStream out = s.getOutputStream();
                long p = 0;
                while (p < limit) {
                    int n = (int) Math.min(buf.length, limit - p);
                    for (int i = 0; i < n; i++) buf[i] = at(p + i);
                    out.write(buf, 0, n);
                    p += n;
                    sent.set(p);
                }
                s.shutdownOutput();
                writeEnd.complete("done");
            } catch (IOException e) {
                writeEnd.complete("error: " + e.getMessage());
            }
        }

        private void read(Socket s) {
            byte[] buf = new byte[64 * 1024];
            try {
                s.setSoTimeout(60_000);
                InputStream in = s.getInputStream();
                long p = 0;
                int n;
                while ((n = in.read(buf)) != -1) {
                    for (int i = 0; i < n; i++) {
                        if (buf[i] != at(p + i)) {
                            readEnd.complete("CORRUPT at byte " + (p + i));
                            return;
                        }
                    }
                    p += n;
                    received.set(p);
                }
                readEnd.complete("EOF");
            } catch (SocketTimeoutException e) {
                readEnd.complete("HANG (no byte and no EOF for 60 s)");
            } catch (IOException e) {
                readEnd.complete("error: " + e.getMessage());
            }
        }

        void awaitReceived(long bytes, int seconds) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            while (received.get() < bytes && System.nanoTime() < deadline && !readEnd.isDone()) Thread.sleep(5);
            assertTrue(received.get() >= bytes, "received " + received.get() + " B, wanted " + bytes + ": " + this);
        }

        /** Both the reader and the writer end (error or EOF) in time; what was read is a prefix. */
        void assertEndsWithoutHang(int seconds, String when) throws Exception {
            String r;
            try {
                r = readEnd.get(seconds, TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                throw new AssertionError("the reader hung " + when + ": " + this);
            }
            assertTrue(r.equals("EOF") || r.startsWith("error"), "reader ended " + r + " " + when);
            if (limit <= 0) return;
            try {
                writeEnd.get(seconds, TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                throw new AssertionError("the writer hung " + when + ": " + this);
            }
        }

        void assertCompleteAndCorrect(int seconds) throws Exception {
            assertEquals("done", writeEnd.get(seconds, TimeUnit.SECONDS), this::toString);
            assertEquals("EOF", readEnd.get(seconds, TimeUnit.SECONDS), this::toString);
            assertEquals(limit, received.get(), "every byte back, in order (checked byte by byte): " + this);
        }

        @Override
        public String toString() {
            return "sent " + sent.get() + " B (" + writeEnd.getNow("writing") + "), received " + received.get() + " B ("
                    + readEnd.getNow("reading") + ")";
        }
    }

    /** The client killed in {@link #clientKilledMidStream}: streams to the port until killed. */
    public static final class StreamClient {
        public static void main(String[] args) throws Exception {
            Socket s = new Socket(InetAddress.getLoopbackAddress(), Integer.parseInt(args[0]));
            Stream st = Stream.start(s);
            st.readEnd.get();
        }
    }
}
