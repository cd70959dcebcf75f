package io.sockmap.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The zero-code-change promise, end to end: the example blocking proxies run unmodified in a
 * child JVM with {@code -javaagent:sockmap-agent.jar}, on JDK 17 and JDK 25, in front of the
 * example echo backend (another child JVM). 256 MiB go each way with SHA-256 checks and a
 * half-close in both directions (the client shuts down its output; the backend echoes the rest
 * and shuts down its own). The proxy's own reads ({@code /proc/PID/io rchar}) must grow by less
 * than 1% of the bytes it relayed: the kernel moved them. The transforming proxy is the negative
 * control: never spliced, every byte read and written by the proxy, output upper-cased.
 *
 * <p>Needs: Linux, root (CAP_BPF + CAP_NET_ADMIN), {@code agent/target/sockmap-agent.jar} and
 * {@code examples/target/sockmap-examples.jar} (paths overridable with {@code -Dsockmap.agent.jar}
 * and {@code -Dsockmap.examples.jar}), JDK 25 at {@code /usr/lib/jvm/temurin-25-jdk-amd64}
 * (overridable with {@code -Dsockmap.it.jdk25}). What is missing fails the test when
 * {@code CI=true} and skips it elsewhere.
 */
class BlockingProxyAgentIT {
    private static final long MIB = 1L << 20;
    private static final long BYTES = 256 * MIB;
    private static final long WARMUP_BYTES = 2 * MIB;
    private static final Pattern LISTENING = Pattern.compile("listening on (\\d+)");
    private static final Pattern SUMMARY = Pattern.compile("kernel bytes c->s (\\d+) / s->c (\\d+)");

    static Stream<Arguments> pureRelays() {
        List<Arguments> out = new ArrayList<>();
        for (Path jdk : jdks()) {
            out.add(Arguments.of(jdk, "ThreadPairProxy"));
            out.add(Arguments.of(jdk, "TransferToProxy"));
            if (feature(jdk) >= 21) out.add(Arguments.of(jdk, "VirtualThreadProxy"));
        }
        return out.stream();
    }

    static Stream<Arguments> allJdks() {
        return jdks().stream().map(Arguments::of);
    }

    @ParameterizedTest(name = "{1} on JDK {0}")
    @MethodSource("pureRelays")
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void aPureRelayIsSplicedWithoutCodeChange(Path jdk, String proxy) throws Exception {
        try (Child backend = Child.start(currentJdk(), List.of(), "Backend", "--mode", "echo");
             Child relay = Child.start(jdk, agentOptions(), proxy, "--target", "127.0.0.1:" + backend.port)) {
            relay.requireSplicing();
            // warm-up: classes loaded, engine threads started, before the measured transfer
            Transfer warm = Transfer.run(relay.port, WARMUP_BYTES, false);
            assertEquals(warm.sent, warm.received, "warm-up: echoed bytes through " + proxy);

            long rcharBefore = relay.rchar();
            Transfer t = Transfer.run(relay.port, BYTES, false);
            long rcharDelta = relay.rchar() - rcharBefore;
            log(proxy + " on " + jdk + ": " + t + ", proxy rchar +" + rcharDelta);

            assertEquals(t.sent, t.received, "client -> proxy -> backend -> proxy -> client, SHA-256 of "
                    + BYTES + " bytes each way");
            long relayed = 2 * BYTES;
            assertTrue(rcharDelta < relayed / 100, "the proxy read " + rcharDelta + " bytes itself for "
                    + relayed + " relayed (must be < 1%): not spliced?\n" + relay.stderrText());
            long splicedLines = relay.stderr.stream().filter(l -> l.contains("DEBUG spliced ")).count();
            assertTrue(splicedLines >= 2, "both directions of the measured connection spliced:\n" + relay.stderrText());

            long[] kernel = relay.stopAndReadSummary();
            log(proxy + " kernel bytes c->s " + kernel[0] + ", s->c " + kernel[1] + " of " + BYTES + " each");
            // The summary covers the warm-up connection too. What the kernel did not move, the
            // application relayed before the splice (minBytes) or the engine forwarded itself (its
            // "userspace bytes": the receive queue drained at the handover, and what the sender
            // sent past the in-flight cap while the echo fell behind). rchar does not see the
            // engine's recv(2) reads, so it is the summary that shows the kernel's share: 98.4-99.8%
            // of both transfers seen on a loaded machine; the floor is 97% of the measured one.
            assertTrue(kernel[0] >= BYTES * 97 / 100 && kernel[1] >= BYTES * 97 / 100,
                    "kernel bytes c->s " + kernel[0] + ", s->c " + kernel[1] + "\n" + relay.stderrText());
        }
    }

    @ParameterizedTest(name = "TransformingProxy on JDK {0}")
    @MethodSource("allJdks")
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void aTransformingProxyIsNeverSpliced(Path jdk) throws Exception {
        long bytes = 32 * MIB;
        try (Child backend = Child.start(currentJdk(), List.of(), "Backend", "--mode", "echo");
             Child relay = Child.start(jdk, agentOptions(), "TransformingProxy", "--target", "127.0.0.1:" + backend.port)) {
            relay.requireSplicing();
            long rcharBefore = relay.rchar();
            Transfer t = Transfer.run(relay.port, bytes, true);
            long rcharDelta = relay.rchar() - rcharBefore;
            log("TransformingProxy on " + jdk + ": " + t + ", proxy rchar +" + rcharDelta);

            assertEquals(t.sentUpper, t.received, "the backend echoes what it got: the client's bytes upper-cased");
            assertTrue(rcharDelta >= 2 * bytes, "the proxy read every byte itself: " + rcharDelta);
            assertTrue(relay.stderr.stream().noneMatch(l -> l.contains("DEBUG spliced ")), relay.stderrText());
            long[] kernel = relay.stopAndReadSummary();
            assertEquals(0, kernel[0] + kernel[1], "no byte went through the kernel\n" + relay.stderrText());
        }
    }

    // ------------------------------------------------------------------ environment

    private static List<String> agentOptions() {
        Path agent = artifact("sockmap.agent.jar", "agent/target/sockmap-agent.jar");
        return List.of("-javaagent:" + agent, "-Dsockmap.logLevel=debug");
    }

    static List<Path> jdks() {
        List<Path> out = new ArrayList<>();
        out.add(currentJdk());
        Path jdk25 = Path.of(System.getProperty("sockmap.it.jdk25", "/usr/lib/jvm/temurin-25-jdk-amd64"));
        if (!jdk25.equals(currentJdk())) out.add(jdk25); // missing: Child.start fails (CI) or skips
        return out;
    }

    static Path currentJdk() {
        return Path.of(System.getProperty("java.home"));
    }

    /** The JDK's feature version, from its {@code release} file. */
    static int feature(Path jdk) {
        try {
            for (String l : Files.readAllLines(jdk.resolve("release"))) {
                if (l.startsWith("JAVA_VERSION=")) {
                    String v = l.substring("JAVA_VERSION=".length()).replace("\"", "");
                    return Integer.parseInt(v.split("[.+-]")[0]);
                }
            }
        } catch (IOException | RuntimeException e) {
            // fall through
        }
        return Runtime.version().feature();
    }

    static Path artifact(String property, String relative) {
        String p = System.getProperty(property);
        Path path = p != null ? Path.of(p) : Path.of("..").resolve(relative).toAbsolutePath().normalize();
        if (!Files.isRegularFile(path)) unavailable(path + " does not exist (build it with mvn package first)");
        return path;
    }

    static void unavailable(String what) {
        if ("true".equalsIgnoreCase(System.getenv("CI"))) fail(what + " (CI=true: failing instead of skipping)");
        Assumptions.abort(what);
    }

    static void log(String s) {
        System.out.println("[agent-it] " + s);
        System.out.flush();
    }

    // ------------------------------------------------------------------ client

    /** One client connection: sends {@code bytes}, half-closes, reads the echo until EOF. */
    static final class Transfer {
        String sent;
        String sentUpper;
        String received;
        long millis;

        static Transfer run(int port, long bytes, boolean letters) throws Exception {
            Transfer t = new Transfer();
            long start = System.nanoTime();
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
                CompletableFuture<String> received = CompletableFuture.supplyAsync(() -> {
                    try {
                        return drain(s.getInputStream());
                    } catch (IOException e) {
                        throw new RuntimeException(e);
                    }
                });
                String[] sha = send(s.getOutputStream(), bytes, letters);
                s.shutdownOutput(); // half-close client -> server; the echo must still come back
                t.sent = sha[0];
                t.sentUpper = sha[1];
                t.received = received.get(240, TimeUnit.SECONDS);
            }
            t.millis = (System.nanoTime() - start) / 1_000_000;
            return t;
        }

        /** Returns "n sha" of the bytes sent and of the same bytes ASCII-upper-cased. */
        static String[] send(OutputStream out, long bytes, boolean letters) throws IOException {
            MessageDigest sha = sha();
            MessageDigest upper = sha();
            Random r = new Random(bytes);
            byte[] buf = new byte[64 * 1024];
            byte[] up = new byte[buf.length];
            long left = bytes;
            while (left > 0) {
                int n = (int) Math.min(buf.length, left);
                r.nextBytes(buf);
                if (letters) {
                    for (int i = 0; i < n; i++) {
                        buf[i] = (byte) ('a' + (buf[i] & 31));
                        up[i] = buf[i] >= 'a' && buf[i] <= 'z' ? (byte) (buf[i] - 32) : buf[i];
                    }
                    upper.update(up, 0, n);
                }
                sha.update(buf, 0, n);
                out.write(buf, 0, n);
                left -= n;
            }
            return new String[] {bytes + " " + HexFormat.of().formatHex(sha.digest()),
                    bytes + " " + HexFormat.of().formatHex(upper.digest())};
        }

        static String drain(InputStream in) throws IOException {
            MessageDigest sha = sha();
            byte[] buf = new byte[64 * 1024];
            long total = 0;
            int n;
            while ((n = in.read(buf)) != -1) {
                sha.update(buf, 0, n);
                total += n;
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

        @Override
        public String toString() {
            return sent + " in " + millis + " ms";
        }
    }

    // ------------------------------------------------------------------ child JVMs

    /** {@code <jdk>/bin/java [options] -cp sockmap-examples.jar io.sockmap.examples.<program> --listen 0 ...}. */
    static final class Child implements AutoCloseable {
        final Process process;
        final int port;
        /** Live: the readers append as the child prints. */
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

        static Child start(Path jdk, List<String> jvmOptions, String program, String... args) throws Exception {
            Path examples = artifact("sockmap.examples.jar", "examples/target/sockmap-examples.jar");
            return start(List.of(), jdk, jvmOptions, examples.toString(), "io.sockmap.examples." + program, args);
        }

        /** {@code [prefix] <jdk>/bin/java [options] -cp classPath mainClass --listen 0 args...}. */
        static Child start(List<String> prefix, Path jdk, List<String> jvmOptions, String classPath, String mainClass,
                           String... args) throws Exception {
            Path java = jdk.resolve("bin/java");
            if (!Files.isExecutable(java)) unavailable("no JDK at " + jdk);
            String program = mainClass.substring(mainClass.lastIndexOf('.') + 1);
            List<String> cmd = new ArrayList<>(prefix);
            cmd.add(java.toString());
            cmd.addAll(jvmOptions);
            cmd.addAll(List.of("-cp", classPath, mainClass));
            if (args.length > 0 && !args[0].startsWith("--")) cmd.add(args[0]); // a sub-command first
            cmd.addAll(List.of("--listen", "0"));
            cmd.addAll(List.of(args).subList(args.length > 0 && !args[0].startsWith("--") ? 1 : 0, args.length));
            Process p = new ProcessBuilder(cmd).start();
            List<String> out = new CopyOnWriteArrayList<>();
            List<String> err = new CopyOnWriteArrayList<>();
            CompletableFuture<Integer> port = new CompletableFuture<>();
            pump(p.getInputStream(), out, port, program + " stdout");
            Thread e = pump(p.getErrorStream(), err, null, program + " stderr");
            try {
                return new Child(program, p, port.get(60, TimeUnit.SECONDS), e, out, err);
            } catch (Exception ex) {
                p.destroyForcibly();
                throw new AssertionError(program + " did not print 'listening on <port>': " + cmd + "\nstdout " + out
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

        /** Fails (CI) or skips when the agent says it is off (no BPF, no privileges). */
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

        /** SIGTERM, wait, return the summary's kernel bytes {c->s, s->c}. */
        long[] stopAndReadSummary() throws Exception {
            // SIGTERM through the handle: Process.destroy() also closes our ends of the pipes at
            // once, and the summary the child prints on its way out would be lost
            process.toHandle().destroy();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                String dump = ThreadDumps.of(process, stdout);
                process.destroyForcibly();
                fail(name + " did not stop on SIGTERM\n" + stderrText() + "\n" + dump);
            }
            errReader.join(5000);
            for (String l : stderr) {
                Matcher m = SUMMARY.matcher(l);
                if (m.find()) return new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2))};
            }
            fail(name + ": no summary line (exit " + process.exitValue() + ")\n" + stderrText());
            return null;
        }

        /** {@code rchar} of the child from {@code /proc/PID/io}. */
        long rchar() throws IOException {
            for (String l : Files.readAllLines(Path.of("/proc/" + process.pid() + "/io"))) {
                if (l.startsWith("rchar:")) return Long.parseLong(l.substring(6).trim());
            }
            throw new IOException("no rchar for " + process.pid());
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
