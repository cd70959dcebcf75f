package io.sockmap.it.engine;

import static org.junit.jupiter.api.Assertions.fail;

import io.sockmap.engine.EngineConfig;
import io.sockmap.engine.SpliceEngine;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Assumptions;

/** Shared plumbing of the engine tests: engine opening (CI fails, elsewhere skips), child peers, meters, relays. */
final class EngineTestSupport {
    static final long MIB = 1L << 20;
    static final long KIB = 1L << 10;

    private EngineTestSupport() {}

    static boolean ci() {
        return "true".equalsIgnoreCase(System.getenv("CI"));
    }

    /** Something this test needs is missing: fail in CI (a broken runner must not pass as a skip), skip elsewhere. */
    static void unavailable(String what) {
        if (ci()) fail(what + " (CI=true: failing instead of skipping)");
        Assumptions.abort(what);
    }

    /** Opens an engine; without BPF, fails when CI=true and skips otherwise. */
    static SpliceEngine openEngine(EngineConfig config) {
        try {
            return SpliceEngine.open(config);
        } catch (SpliceEngine.EngineUnavailableException e) {
            unavailable("sockmap engine unavailable on Linux " + System.getProperty("os.version") + ": " + e.getMessage());
            throw new AssertionError("unreachable");
        }
    }

    static void log(String s) {
        System.out.println("[engine-it] " + s);
        System.out.flush();
    }

    // ------------------------------------------------------------------ meters

    /** Bytes this process passed to read()-family syscalls ({@code /proc/self/io rchar}). */
    static long rchar() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/io"))) {
                if (l.startsWith("rchar:")) return Long.parseLong(l.substring(6).trim());
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        throw new IllegalStateException("no rchar in /proc/self/io");
    }

    /** CPU time of this process (user + system), milliseconds. */
    static long cpuMillis() {
        try {
            String s = Files.readString(Path.of("/proc/self/stat"));
            String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
            // fields after the comm: state(3) ... utime(14) stime(15) -> index 11, 12
            return (Long.parseLong(f[11]) + Long.parseLong(f[12])) * 10; // CLK_TCK is 100 on Linux
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** rchar, CPU and wall time between start and stop. */
    static final class Meter {
        final long rchar0 = rchar();
        final long cpu0 = cpuMillis();
        final long t0 = System.nanoTime();
        long rcharDelta;
        long cpuDelta;
        long nanos;

        Meter stop() {
            nanos = System.nanoTime() - t0;
            rcharDelta = rchar() - rchar0;
            cpuDelta = cpuMillis() - cpu0;
            return this;
        }

        double seconds() {
            return nanos / 1e9;
        }

        String describe(long bytes) {
            return String.format("%.1f MiB in %.2f s = %.2f Gbit/s; test-JVM rchar +%d B (%.4f%% of bytes), test-JVM CPU %d ms",
                    bytes / (double) MIB, seconds(), bytes * 8 / seconds() / 1e9, rcharDelta, 100.0 * rcharDelta / bytes, cpuDelta);
        }
    }

    // ------------------------------------------------------------------ /proc/net/tcp

    /** A TCP socket as /proc/net/tcp{,6} shows it. */
    record TcpEntry(boolean v6, String localAddrHex, int state) {
        boolean v4Mapped() {
            return v6 && localAddrHex.startsWith("0000000000000000FFFF0000");
        }

        boolean loopback6() {
            return v6 && localAddrHex.equals("00000000000000000000000001000000");
        }
    }

    static final int TCP_ESTABLISHED = 1;
    static final int TCP_CLOSE_WAIT = 8;

    /** The socket with this local and remote port, or null. */
    static TcpEntry tcpEntry(int localPort, int remotePort) {
        for (String file : new String[] {"/proc/net/tcp", "/proc/net/tcp6"}) {
            List<String> lines;
            try {
                lines = Files.readAllLines(Path.of(file));
            } catch (IOException e) {
                continue;
            }
            for (String l : lines.subList(1, lines.size())) {
                String[] f = l.trim().split("\\s+");
                String[] local = f[1].split(":");
                String[] remote = f[2].split(":");
                if (Integer.parseInt(local[1], 16) == localPort && Integer.parseInt(remote[1], 16) == remotePort) {
                    return new TcpEntry(file.endsWith("6"), local[0], Integer.parseInt(f[3], 16));
                }
            }
        }
        return null;
    }

    // ------------------------------------------------------------------ sockets

    static ServerSocket listen(String host, int rcvbuf) throws IOException {
        ServerSocket s = new ServerSocket();
        if (rcvbuf > 0) s.setReceiveBufferSize(rcvbuf);
        s.bind(new InetSocketAddress(InetAddress.getByName(host), 0), 4096);
        s.setSoTimeout(60_000);
        return s;
    }

    static Socket connect(String host, int port, int sndbuf) throws IOException {
        Socket s = new Socket();
        if (sndbuf > 0) s.setSendBufferSize(sndbuf);
        s.connect(new InetSocketAddress(InetAddress.getByName(host), port), 10_000);
        return s;
    }

    static void closeQuietly(AutoCloseable... cs) {
        for (AutoCloseable c : cs) {
            if (c == null) continue;
            try {
                c.close();
            } catch (Exception ignored) {
                // best effort
            }
        }
    }

    /**
     * A plain userspace relay, one thread per direction. With {@code limit >= 0} each direction copies
     * exactly that many bytes and stops (no shutdown, no close); otherwise it copies to EOF, propagates
     * it with shutdownOutput, and closes both sockets when both directions ended.
     */
    static final class Relay {
        final AtomicLong aToB = new AtomicLong();
        final AtomicLong bToA = new AtomicLong();
        final List<Throwable> errors = Collections.synchronizedList(new ArrayList<>());
        private final Socket a;
        private final Socket b;
        private final long limit;
        private final CountDownLatch done = new CountDownLatch(2);

        Relay(Socket a, Socket b, long limit) {
            this.a = a;
            this.b = b;
            this.limit = limit;
        }

        Relay start() {
            thread(a, b, aToB, "relay-a2b").start();
            thread(b, a, bToA, "relay-b2a").start();
            return this;
        }

        private Thread thread(Socket from, Socket to, AtomicLong count, String name) {
            Thread t = new Thread(() -> {
                try {
                    InputStream in = from.getInputStream();
                    OutputStream out = to.getOutputStream();
                    byte[] buf = new byte[64 * 1024];
                    while (limit < 0 || count.get() < limit) {
                        int want = limit < 0 ? buf.length : (int) Math.min(buf.length, limit - count.get());
                        int n = in.read(buf, 0, want);
                        if (n < 0) {
                            if (limit < 0) to.shutdownOutput();
                            break;
                        }
                        out.write(buf, 0, n);
                        count.addAndGet(n);
                    }
                } catch (IOException e) {
                    errors.add(e);
                } finally {
                    done.countDown();
                    if (limit < 0 && done.getCount() == 0) closeQuietly(a, b);
                }
            }, name);
            t.setDaemon(true);
            return t;
        }

        boolean await(long millis) throws InterruptedException {
            return done.await(millis, TimeUnit.MILLISECONDS);
        }
    }

    // ------------------------------------------------------------------ the child JVM

    /** One RESULT line of {@link TrafficPeer}. */
    static final class Result {
        final Map<String, String> f = new LinkedHashMap<>();
        final String line;

        Result(String line) {
            this.line = line;
            for (String kv : line.substring("RESULT ".length()).split(" ")) {
                int eq = kv.indexOf('=');
                f.put(kv.substring(0, eq), kv.substring(eq + 1));
            }
        }

        long num(String k) {
            return Long.parseLong(f.get(k));
        }

        String str(String k) {
            return f.get(k);
        }

        @Override
        public String toString() {
            return line;
        }
    }

    /** A progress sample of the child. */
    record Progress(long ms, long cSent, long cRecv, long bSent, long bRecv) {}

    /** The child JVM running {@link TrafficPeer}. */
    static final class PeerProcess implements AutoCloseable {
        private static final String STDOUT_CLOSED = new String("<stdout closed>");
        final Process process;
        final int backendPort;
        private final PrintWriter stdin;
        private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        final List<String> log = Collections.synchronizedList(new ArrayList<>());
        final List<Progress> progress = Collections.synchronizedList(new ArrayList<>());
        final Map<Integer, Result> results = new ConcurrentHashMap<>();
        /** Backend connections that ended before their 8-byte id header arrived (fields only, no id). */
        final List<Result> orphans = Collections.synchronizedList(new ArrayList<>());
        final Map<String, Long> rstNanos = new ConcurrentHashMap<>();
        private final CountDownLatch finished = new CountDownLatch(1);
        private volatile String finalLine;

        private PeerProcess(Process p) throws IOException {
            this.process = p;
            this.stdin = new PrintWriter(p.getOutputStream(), true, StandardCharsets.UTF_8);
            BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            Thread t = new Thread(() -> {
                try {
                    String l;
                    while ((l = r.readLine()) != null) {
                        if (l.startsWith("PROGRESS ")) {
                            Map<String, Long> m = new LinkedHashMap<>();
                            for (String kv : l.substring(9).split(" ")) {
                                int eq = kv.indexOf('=');
                                m.put(kv.substring(0, eq), Long.parseLong(kv.substring(eq + 1)));
                            }
                            progress.add(new Progress(m.get("ms"), m.get("cSent"), m.get("cRecv"), m.get("bSent"), m.get("bRecv")));
                            continue;
                        }
                        if (log.size() < 400) log.add(l);
                        if (l.startsWith("RESULT ")) {
                            Result res = new Result(l);
                            results.put((int) res.num("id"), res);
                        } else if (l.startsWith("ORPHAN ")) {
                            orphans.add(new Result("RESULT " + l.substring("ORPHAN ".length())));
                        } else if (l.startsWith("RST ")) {
                            rstNanos.put(l.substring(4), System.nanoTime());
                            lines.add(l);
                        } else if (l.equals("DONE") || l.startsWith("TIMEOUT")) {
                            finalLine = l;
                            finished.countDown();
                        } else {
                            lines.add(l);
                        }
                    }
                } catch (IOException ignored) {
                    // child gone
                } finally {
                    if (finalLine == null) finalLine = "EXITED without DONE";
                    lines.add(STDOUT_CLOSED);
                    finished.countDown();
                }
            }, "peer-stdout");
            t.setDaemon(true);
            t.start();
            String port = awaitLine("PORT ", 20_000);
            this.backendPort = Integer.parseInt(port.substring(5).trim());
        }

        /** Starts TrafficPeer with these key=value options. */
        static PeerProcess start(String... options) throws IOException {
            return start(false, options);
        }

        /** As {@link #start(String...)}; {@code manyFds} raises the child's open-files limit through the shell. */
        static PeerProcess start(boolean manyFds, String... options) throws IOException {
            List<String> cmd = new ArrayList<>();
            if (manyFds) {
                cmd.addAll(List.of("/bin/sh", "-c", "ulimit -n 65536 2>/dev/null || ulimit -n $(ulimit -Hn); exec \"$0\" \"$@\""));
            }
            cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            cmd.addAll(List.of("-Xmx768m", "-XX:+UseSerialGC", "-Xss512k", "-cp", System.getProperty("java.class.path"),
                    TrafficPeer.class.getName()));
            cmd.addAll(List.of(options));
            ProcessBuilder pb = new ProcessBuilder(cmd);
            pb.redirectError(ProcessBuilder.Redirect.INHERIT);
            log("child: TrafficPeer " + String.join(" ", options));
            return new PeerProcess(pb.start());
        }

        void proxy(String host, int port) {
            stdin.println("PROXY " + host + " " + port);
        }

        void go() {
            stdin.println("GO");
        }

        /** The next non-progress line starting with {@code prefix} (earlier other lines are dropped). */
        String awaitLine(String prefix, long millis) throws IOException {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
            try {
                while (true) {
                    long left = deadline - System.nanoTime();
                    String l = lines.poll(Math.max(0, left), TimeUnit.NANOSECONDS);
                    if (l == null) throw new IOException("child did not print '" + prefix + "' within " + millis + " ms; output: " + log);
                    if (l == STDOUT_CLOSED) {
                        lines.add(STDOUT_CLOSED);
                        throw new IOException("child exited before printing '" + prefix + "' (see its stderr above); output: " + log);
                    }
                    if (l.startsWith(prefix)) return l;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException(e);
            }
        }

        /** Waits for DONE; fails (with the child's output) on TIMEOUT or exit. Returns results by connection id. */
        Map<Integer, Result> awaitDone(long millis) throws InterruptedException {
            if (!finished.await(millis, TimeUnit.MILLISECONDS)) {
                fail("child did not finish within " + millis + " ms; output so far: " + tail());
            }
            if (!"DONE".equals(finalLine)) fail("child: " + finalLine + "; output: " + tail());
            return results;
        }

        /** Waits for DONE or TIMEOUT; returns whether the child finished normally. */
        boolean awaitFinished(long millis) throws InterruptedException {
            return finished.await(millis, TimeUnit.MILLISECONDS) && "DONE".equals(finalLine);
        }

        String tail() {
            synchronized (log) {
                List<String> l = log.size() > 40 ? log.subList(log.size() - 40, log.size()) : log;
                return String.join("\n  ", l);
            }
        }

        @Override
        public void close() {
            process.destroyForcibly();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
