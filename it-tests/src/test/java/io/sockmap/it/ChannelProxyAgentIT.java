package io.sockmap.it;

import static io.sockmap.it.BlockingProxyAgentIT.artifact;
import static io.sockmap.it.BlockingProxyAgentIT.currentJdk;
import static io.sockmap.it.BlockingProxyAgentIT.log;
import static io.sockmap.it.BlockingProxyAgentIT.unavailable;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * NIO and Netty relays, unmodified, in a child JVM with {@code -javaagent:sockmap-agent.jar}: the
 * example {@code NioSelectorProxy} and {@code NettyProxy} (NIO and epoll transports, Netty 4.1 and
 * 4.2, JDK 17 and 25), and the differently written relays of {@link io.sockmap.it.relays}. Each
 * proxy JVM goes through, in order:
 * <ol>
 *   <li>a large echo transfer, SHA-256 checked both ways; the proxy's {@code /proc/PID/io rchar}
 *       grows by less than 1% of the bytes relayed, and the exit summary shows >= 99% of each
 *       direction's bytes moved by the kernel;</li>
 *   <li>half-close, client first (the client shuts down its output, the echo still arrives) and
 *       server first (the backend sends, shuts down its output and then still receives);</li>
 *   <li>a slow reader (the client reads the echo at about 40 MB/s, the in-flight cap throttles);</li>
 *   <li>a reset in the middle of a spliced stream (SO_LINGER 0), after which a new connection
 *       still relays correctly.</li>
 * </ol>
 * Relays that close on EOF (the HexDumpProxy style) skip the half-close steps, and their clients
 * close only after the whole echo arrived. The backend runs in this JVM.
 */
class ChannelProxyAgentIT {
    private static final long MIB = 1L << 20;
    private static final Pattern LISTENING = Pattern.compile("listening on (\\d+)");
    private static final Pattern SUMMARY = Pattern.compile("summary: pairs spliced (\\d+), kernel bytes c->s (\\d+) / s->c (\\d+)");
    private static final byte ECHO = 'E';
    private static final byte SERVER_FIRST = 'S';
    private static final Path JDK25 = Path.of(System.getProperty("sockmap.it.jdk25", "/usr/lib/jvm/temurin-25-jdk-amd64"));

    private static ScriptedBackend backend;

    /** One proxy to run: how to start it and what it supports. */
    record Proxy(String name, Path jdk, String classPath, String mainClass, List<String> args, boolean halfClose, long bigBytes) {
        @Override
        public String toString() {
            return name + " on JDK " + BlockingProxyAgentIT.feature(jdk);
        }
    }

    static Stream<Arguments> proxies() {
        String examplesJar = artifact("sockmap.examples.jar", "examples/target/sockmap-examples.jar").toString();
        Path examplesClasses = Path.of("..", "examples", "target", "classes").toAbsolutePath().normalize();
        Path testClasses = Path.of("target", "test-classes").toAbsolutePath();
        String n41 = Path.of("target", "netty-4.1").toAbsolutePath() + "/*";
        String n42 = Path.of("target", "netty-4.2").toAbsolutePath() + "/*";
        Path jdk17 = currentJdk();
        List<Proxy> out = new ArrayList<>();
        // each Netty line and transport once, each JDK for each family; one large transfer per family
        out.add(new Proxy("NioSelectorProxy", jdk17, examplesJar, "io.sockmap.examples.NioSelectorProxy", List.of(), true, 256 * MIB));
        out.add(new Proxy("NioSelectorProxy", JDK25, examplesJar, "io.sockmap.examples.NioSelectorProxy", List.of(), true, 64 * MIB));
        String ex41 = examplesClasses + ":" + n41;
        String ex42 = examplesClasses + ":" + n42;
        String netty = "io.sockmap.examples.NettyProxy";
        out.add(new Proxy("NettyProxy nio 4.1", jdk17, ex41, netty, List.of("--transport", "nio"), true, 64 * MIB));
        out.add(new Proxy("NettyProxy epoll 4.1", jdk17, ex41, netty, List.of("--transport", "epoll"), true, 64 * MIB));
        out.add(new Proxy("NettyProxy nio 4.2", JDK25, ex42, netty, List.of("--transport", "nio"), true, 64 * MIB));
        // Netty 4.2.18's epoll transport fails writes to a channel whose input was shut down
        // (epoll_ctl ENOENT when it asks for EPOLLOUT), with or without the agent: no half-close steps
        out.add(new Proxy("NettyProxy epoll 4.2", jdk17, ex42, netty, List.of("--transport", "epoll"), false, 256 * MIB));
        out.add(new Proxy("NettyProxy epoll 4.2", JDK25, ex42, netty, List.of("--transport", "epoll"), false, 64 * MIB));
        String relays41 = testClasses + ":" + n41;
        String relays42 = testClasses + ":" + n42;
        out.add(new Proxy("CompactSelectorRelay", JDK25, relays42, "io.sockmap.it.relays.CompactSelectorRelay", List.of(), true, 32 * MIB));
        out.add(new Proxy("BlockingChannelRelay", jdk17, relays42, "io.sockmap.it.relays.BlockingChannelRelay", List.of(), true, 32 * MIB));
        out.add(new Proxy("HexDumpStyleRelay epoll 4.1", jdk17, relays41, "io.sockmap.it.relays.HexDumpStyleRelay",
                List.of("--transport", "epoll"), false, 32 * MIB));
        out.add(new Proxy("HexDumpStyleRelay nio 4.2", JDK25, relays42, "io.sockmap.it.relays.HexDumpStyleRelay",
                List.of("--transport", "nio"), false, 32 * MIB));
        // -Dsockmap.it.proxies=REGEX runs only the configurations whose name (with "on JDK n") matches
        String only = System.getProperty("sockmap.it.proxies", "");
        Pattern select = Pattern.compile(only.isEmpty() ? ".*" : only);
        return out.stream().filter(p -> select.matcher(p.toString()).find()).map(Arguments::of);
    }

    @BeforeAll
    static void startBackend() throws IOException {
        backend = new ScriptedBackend();
    }

    @AfterAll
    static void stopBackend() throws IOException {
        if (backend != null) backend.close();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("proxies")
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void aChannelRelayIsSplicedAndKeepsEveryByte(Proxy p) throws Exception {
        List<String> jvm = new ArrayList<>(List.of("-javaagent:" + artifact("sockmap.agent.jar", "agent/target/sockmap-agent.jar"),
                "-Dsockmap.logLevel=debug"));
        try (Child relay = Child.start(p, jvm, backend.port())) {
            relay.requireSplicing();
            Result warm = Client.echo(relay.port, 2 * MIB, p.halfClose, 0);
            assertEquals(warm.sent, warm.received, p + ": warm-up echo");

            long rcharBefore = relay.rchar();
            long switchesBefore = relay.contextSwitches();
            Result big = Client.echo(relay.port, p.bigBytes, p.halfClose, 0);
            long rcharDelta = relay.rchar() - rcharBefore;
            long switches = relay.contextSwitches() - switchesBefore;
            log(p + ": " + big + ", proxy rchar +" + rcharDelta + ", context switches +" + switches);
            assertEquals(big.sent, big.received, p + ": SHA-256 of " + p.bigBytes + " bytes each way");
            long relayed = 2 * p.bigBytes;
            assertTrue(rcharDelta < relayed / 100, p + ": the proxy read " + rcharDelta + " bytes itself for "
                    + relayed + " relayed (must be < 1%)\n" + relay.stderrText());
            // a spliced source is registered without POLLIN (JDK selectors, Netty epoll) or has no thread
            // in recv (blocking): the kernel's wake-up at every redirected segment (up to 64 KiB) must not
            // wake an application thread (with the JVM's own threads counted: 8,410 switches for
            // 256 MiB each way through NioSelectorProxy before, 1,079 after)
            long bound = p.bigBytes / (64 * 1024);
            assertTrue(switches < bound, p + ": " + switches + " context switches of the proxy's threads while the kernel relayed "
                    + p.bigBytes + " bytes each way (must be < " + bound + ")");

            if (p.halfClose) {
                Result clientFirst = Client.echo(relay.port, 8 * MIB, true, 0);
                assertEquals(clientFirst.sent, clientFirst.received, p + ": half-close, client first");
                Result serverFirst = Client.serverFirst(relay.port, 8 * MIB, 8 * MIB);
                assertEquals(serverFirst.sent, serverFirst.received, p + ": half-close, server first (client -> server bytes)");
                assertEquals(serverFirst.expectedDown, serverFirst.receivedDown, p + ": half-close, server first (server -> client bytes)");
            }

            Result slow = Client.echo(relay.port, 32 * MIB, p.halfClose, 40_000_000);
            assertEquals(slow.sent, slow.received, p + ": slow reader");

            Client.resetMidStream(relay.port, 16 * MIB);
            Result after = Client.echo(relay.port, 4 * MIB, p.halfClose, 0);
            assertEquals(after.sent, after.received, p + ": a connection after a reset");

            long splicedLines = relay.stderr.stream().filter(l -> l.contains("DEBUG spliced ")).count();
            assertTrue(splicedLines >= 2, p + ": both directions spliced\n" + relay.stderrText());
            long[] kernel = relay.stopAndReadSummary();
            log(p + ": kernel bytes c->s " + kernel[0] + ", s->c " + kernel[1] + " (large transfer " + p.bigBytes + " each way)");
            assertTrue(kernel[0] >= p.bigBytes * 99 / 100 && kernel[1] >= p.bigBytes * 99 / 100,
                    p + ": kernel bytes c->s " + kernel[0] + ", s->c " + kernel[1] + "\n" + relay.stderrText());
            // the warm-up and the large transfer at least; every connection of this test at most
            int connections = 5 + (p.halfClose ? 2 : 0);
            assertTrue(kernel[2] >= 2 && kernel[2] <= connections, p + ": pairs spliced " + kernel[2]
                    + " (expected 2.." + connections + ")\n" + relay.stderrText());
        }
    }

    // ------------------------------------------------------------------ client side

    /** What a client sent and received ("count sha256"). */
    static final class Result {
        String sent;
        String received;
        String expectedDown;
        String receivedDown;
        long millis;

        @Override
        public String toString() {
            return sent + " in " + millis + " ms";
        }
    }

    static final class Client {
        /**
         * Sends {@code bytes} (after the echo command) and reads the echo; {@code halfClose}: shut
         * down output after sending and read to EOF, else read exactly the bytes sent, then close.
         * {@code readRate} > 0 limits how fast the echo is read (bytes/s).
         */
        static Result echo(int port, long bytes, boolean halfClose, long readRate) throws Exception {
            Result r = new Result();
            long start = System.nanoTime();
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
                CompletableFuture<String> received = CompletableFuture.supplyAsync(() -> {
                    try {
                        return drain(s.getInputStream(), halfClose ? Long.MAX_VALUE : bytes, readRate);
                    } catch (IOException e) {
                        throw new RuntimeException(e);
                    }
                });
                OutputStream out = s.getOutputStream();
                out.write(ECHO);
                r.sent = send(out, bytes, bytes);
                if (halfClose) s.shutdownOutput();
                r.received = received.get(240, TimeUnit.SECONDS);
            }
            r.millis = (System.nanoTime() - start) / 1_000_000;
            return r;
        }

        /** The backend sends {@code down} bytes and half-closes first; the client sends {@code up} bytes after that. */
        static Result serverFirst(int port, long up, long down) throws Exception {
            Result r = new Result();
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
                DataOutputStream out = new DataOutputStream(s.getOutputStream());
                out.write(SERVER_FIRST);
                out.writeLong(down);
                out.flush();
                r.receivedDown = drain(s.getInputStream(), Long.MAX_VALUE, 0); // to the backend's EOF
                r.expectedDown = expected(down, down);
                r.sent = send(out, up, up);
                s.shutdownOutput();
                r.received = backend.serverFirstResults.poll(60, TimeUnit.SECONDS);
                if (r.received == null) fail("the backend did not report the client's bytes");
                assertEquals(-1, s.getInputStream().read(), "EOF stays EOF");
            }
            return r;
        }

        /** Streams {@code bytes} and resets the connection (SO_LINGER 0 close) while the echo is still coming. */
        static void resetMidStream(int port, long bytes) throws Exception {
            Socket s = new Socket(InetAddress.getLoopbackAddress(), port);
            java.util.concurrent.atomic.AtomicLong got = new java.util.concurrent.atomic.AtomicLong();
            Thread reader = new Thread(() -> {
                byte[] buf = new byte[64 * 1024];
                try {
                    InputStream in = s.getInputStream();
                    int n;
                    while ((n = in.read(buf)) > 0) got.addAndGet(n);
                } catch (IOException ignored) {
                    // reset
                }
            }, "reset-reader");
            reader.setDaemon(true);
            reader.start();
            OutputStream out = s.getOutputStream();
            out.write(ECHO);
            send(out, bytes, bytes);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (got.get() < bytes / 2 && System.nanoTime() < deadline) Thread.sleep(1);
            s.setSoLinger(true, 0);
            s.close();
            reader.join(10_000);
            log("reset after " + got.get() + " of " + bytes + " echoed bytes");
        }

        /** Sends {@code bytes} of the stream seeded with {@code seed}; returns "count sha". */
        static String send(OutputStream out, long bytes, long seed) throws IOException {
            MessageDigest sha = sha();
            Random random = new Random(seed);
            byte[] buf = new byte[64 * 1024];
            for (long left = bytes; left > 0; ) {
                int n = (int) Math.min(buf.length, left);
                random.nextBytes(buf);
                sha.update(buf, 0, n);
                out.write(buf, 0, n);
                left -= n;
            }
            out.flush();
            return bytes + " " + HexFormat.of().formatHex(sha.digest());
        }

        static String expected(long bytes, long seed) {
            try {
                return send(OutputStream.nullOutputStream(), bytes, seed);
            } catch (IOException e) {
                throw new AssertionError(e);
            }
        }

        /** Reads to EOF or {@code limit} bytes, at most {@code rate} bytes/s if > 0; returns "count sha". */
        static String drain(InputStream in, long limit, long rate) throws IOException {
            MessageDigest sha = sha();
            byte[] buf = new byte[64 * 1024];
            long total = 0;
            long start = System.nanoTime();
            while (total < limit) {
                int n = in.read(buf, 0, (int) Math.min(buf.length, limit - total));
                if (n < 0) break;
                sha.update(buf, 0, n);
                total += n;
                if (rate > 0) {
                    long due = start + total * 1_000_000_000L / rate;
                    long wait = due - System.nanoTime();
                    if (wait > 0) {
                        try {
                            TimeUnit.NANOSECONDS.sleep(wait);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            throw new IOException(e);
                        }
                    }
                }
            }
            return total + " " + HexFormat.of().formatHex(sha.digest());
        }

        static MessageDigest sha() {
            try {
                return MessageDigest.getInstance("SHA-256");
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }
    }

    /**
     * The backend, in this JVM: a thread per connection. The first byte picks the script: {@code E}
     * echoes everything and half-closes after the client's EOF; {@code S} reads an 8-byte count N,
     * sends N bytes (the stream seeded with N) and half-closes, then reads the client's bytes to
     * EOF and reports their "count sha" in {@link #serverFirstResults}.
     */
    static final class ScriptedBackend extends ThreadPerConnectionServer {
        final BlockingQueue<String> serverFirstResults = new LinkedBlockingQueue<>();

        ScriptedBackend() throws IOException {
            super("scripted-backend");
            start();
        }

        @Override
        protected void serve(Socket s) {
            try (s) {
                DataInputStream in = new DataInputStream(s.getInputStream());
                OutputStream out = s.getOutputStream();
                int script = in.read();
                if (script == ECHO) {
                    byte[] buf = new byte[64 * 1024];
                    int n;
                    while ((n = in.read(buf)) >= 0) out.write(buf, 0, n);
                    s.shutdownOutput();
                } else if (script == SERVER_FIRST) {
                    long n = in.readLong();
                    Client.send(out, n, n);
                    s.shutdownOutput();
                    serverFirstResults.add(Client.drain(in, Long.MAX_VALUE, 0));
                }
            } catch (IOException ignored) {
                // resets are part of the tests
            }
        }
    }

    // ------------------------------------------------------------------ child JVM

    /** {@code <jdk>/bin/java [options] -cp CP MAIN --listen 0 --target 127.0.0.1:PORT ARGS}. */
    static final class Child implements AutoCloseable {
        /** Names (as /proc shows them, 15 characters) of threads the JVM and the agent start. */
        private static final Pattern JVM_THREADS = Pattern.compile(
                "GC |G1 |C1 |C2 |VM |sockmap|Signal|Finalizer|Reference|Common-Cleaner|Service Thread|Notification"
                        + "|Monitor Deflat|Attach|process reaper|Sweeper|JFR|ForkJoinPool|InnocuousThre|Cleaner");
        final Process process;
        final int port;
        final List<String> stdout;
        final List<String> stderr;
        private final Thread errReader;
        private final String name;

        private Child(String name, Process process, int port, Thread errReader, List<String> stdout, List<String> stderr) {
            this.name = name;
            this.process = process;
            this.port = port;
            this.errReader = errReader;
            this.stdout = stdout;
            this.stderr = stderr;
        }

        static Child start(Proxy p, List<String> jvmOptions, int backendPort) throws Exception {
            Path java = p.jdk.resolve("bin/java");
            if (!Files.isExecutable(java)) unavailable("no JDK at " + p.jdk);
            List<String> cmd = new ArrayList<>();
            cmd.add(java.toString());
            cmd.addAll(jvmOptions);
            cmd.addAll(List.of("-cp", p.classPath, p.mainClass, "--listen", "0", "--target", "127.0.0.1:" + backendPort));
            cmd.addAll(p.args);
            Process proc = new ProcessBuilder(cmd).start();
            List<String> out = new CopyOnWriteArrayList<>();
            List<String> err = new CopyOnWriteArrayList<>();
            CompletableFuture<Integer> port = new CompletableFuture<>();
            pump(proc.getInputStream(), out, port, p.name + " stdout");
            Thread e = pump(proc.getErrorStream(), err, null, p.name + " stderr");
            try {
                return new Child(p.toString(), proc, port.get(60, TimeUnit.SECONDS), e, out, err);
            } catch (Exception ex) {
                proc.destroyForcibly();
                throw new AssertionError(p + " did not print 'listening on <port>': " + cmd + "\nstdout " + out
                        + "\nstderr " + String.join("\n", err), ex);
            }
        }

        private static Thread pump(InputStream in, List<String> lines, CompletableFuture<Integer> port, String name) {
            Thread t = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = r.readLine()) != null) {
                        lines.add(line);
                        if (port != null) {
                            Matcher m = LISTENING.matcher(line);
                            if (m.find()) port.complete(Integer.parseInt(m.group(1)));
                        }
                    }
                } catch (IOException ignored) {
                    // process ended
                }
                if (port != null) port.completeExceptionally(new IOException("stdout closed"));
            }, name);
            t.setDaemon(true);
            t.start();
            return t;
        }

        void requireSplicing() throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (System.nanoTime() < deadline) {
                for (String l : stderr) {
                    if (l.contains("splicing enabled")) return;
                    if (l.contains(": off:") || l.contains("failed to start")) {
                        unavailable(name + " runs without splicing: " + l + "\n" + stderrText());
                    }
                }
                Thread.sleep(20);
            }
            fail(name + ": no agent start-up line within 30 s\n" + stderrText());
        }

        /** {kernel bytes c->s, s->c, pairs spliced} from the agent's exit summary. */
        long[] stopAndReadSummary() throws Exception {
            process.toHandle().destroy();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                String dump = ThreadDumps.of(process, stdout);
                process.destroyForcibly();
                fail(name + " did not stop on SIGTERM\n" + stderrText() + "\n" + dump);
            }
            errReader.join(5000);
            for (String l : stderr) {
                Matcher m = SUMMARY.matcher(l);
                if (m.find()) return new long[] {Long.parseLong(m.group(2)), Long.parseLong(m.group(3)), Long.parseLong(m.group(1))};
            }
            fail(name + ": no summary line (exit " + process.exitValue() + ")\n" + stderrText());
            return null;
        }

        long rchar() throws IOException {
            for (String l : Files.readAllLines(Path.of("/proc/" + process.pid() + "/io"))) {
                if (l.startsWith("rchar:")) return Long.parseLong(l.substring(6).trim());
            }
            throw new IOException("no rchar for " + process.pid());
        }

        /**
         * Context switches so far of the proxy's application threads (selector or event-loop
         * threads; the JVM's and the agent's own threads are left out: they wake on timers, so
         * their count grows with time, not with bytes). A thread woken for nothing counts one each time.
         */
        long contextSwitches() throws IOException {
            long total = 0;
            try (Stream<Path> tasks = Files.list(Path.of("/proc/" + process.pid() + "/task"))) {
                for (Path task : (Iterable<Path>) tasks::iterator) {
                    try {
                        String name = Files.readString(task.resolve("comm")).trim();
                        if (JVM_THREADS.matcher(name).lookingAt()) continue;
                        for (String l : Files.readAllLines(task.resolve("status"))) {
                            if (l.startsWith("voluntary_ctxt_switches:")) total += Long.parseLong(l.substring(24).trim());
                        }
                    } catch (IOException ended) {
                        // the thread ended meanwhile
                    }
                }
            }
            return total;
        }

        String stderrText() {
            return String.join("\n", stderr);
        }

        @Override
        public void close() {
            process.destroy();
            try {
                if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly();
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }
}
