package io.sockmap.it.soak;

import java.io.DataInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The soak: a proxy (any main class + arguments, default the example {@code ThreadPairProxy})
 * runs in its own JVM with the agent, in front of a backend in this JVM; this JVM's clients
 * drive it on loopback. Run it with {@code bash scripts/soak.sh} (see there for options).
 *
 * <ol>
 *   <li>warm-up (200 connections), then a baseline of the proxy's fds and threads, the engine's
 *       map entries, and the kernel's TCP memory and slab;</li>
 *   <li>phase 1: {@code --concurrent} connections (10,000) open at once; each side writes
 *       {@code --phase1-bytes} (so both directions get spliced), waits until the agent reports
 *       every direction spliced (or 120 s), writes as much again, half-closes;</li>
 *   <li>phase 2: {@code --churn} connections (100,000), {@code --parallel} at a time, for at most
 *       {@code --minutes}: random sizes 0 B to 64 MiB (skewed small), random half-close order,
 *       4% client resets and 4% backend resets mid-stream, 2% slow readers;</li>
 *   <li>every byte is checked by SHA-256 in both directions (for a reset connection: what
 *       arrived must be an exact prefix of what was sent; no side may hang);</li>
 *   <li>after: map entries 0, fds, threads and kernel memory back to the baseline.</li>
 * </ol>
 * Exit status 0 when nothing was lost, nothing hung and nothing leaked.
 */
public final class Soak {
    private static final long START = System.nanoTime();

    private final Options o;
    private final ExecutorService threads;
    private final Map<Long, SoakConnection> byId = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<SoakConnection> running = new ConcurrentLinkedQueue<>();
    private final AtomicLong started = new AtomicLong();
    private final AtomicLong finished = new AtomicLong();
    private final AtomicLong verifiedBytes = new AtomicLong();
    private final AtomicLong resets = new AtomicLong();
    private final AtomicLong resetsPeerError = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private final List<String> failureLines = new ArrayList<>();
    private volatile CountDownLatch barrier;
    private ServerSocket backend;
    private ProxyProcess proxy;
    private volatile String phase = "start";

    Soak(Options o) {
        this.o = o;
        this.threads = virtualThreads();
    }

    public static void main(String[] args) throws Exception {
        Options o = Options.parse(args);
        int status = new Soak(o).run();
        System.exit(status);
    }

    int run() throws Exception {
        backend = new ServerSocket();
        backend.setReuseAddress(true);
        backend.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 8192);
        Thread acceptor = new Thread(this::acceptLoop, "soak-backend-accept");
        acceptor.setDaemon(true);
        acceptor.start();

        proxy = ProxyProcess.start(o.java, o.jvmOptions, o.classPath, o.mainClass, o.proxyArgs,
                (InetSocketAddress) backend.getLocalSocketAddress());
        say("proxy pid " + proxy.process.pid() + " listening on " + proxy.port + ", JMX on " + proxy.jmxPort
                + "; agent mode " + proxy.attribute("Mode") + " " + proxy.attribute("Reason"));
        Thread progress = new Thread(this::progressLoop, "soak-progress");
        progress.setDaemon(true);
        progress.start();

        phase = "warm-up";
        churn(200, 50, Long.MAX_VALUE, 0);
        settle();
        Snapshot base = snapshot("baseline");

        phase = "phase 1";
        long p1Start = System.nanoTime();
        long p1Started = started.get();
        long p1Verified = verifiedBytes.get();
        long p1Failures = failures.get();
        long peakDirections = concurrent(o.concurrent);
        String p1 = String.format("phase 1: %d concurrent connections, peak spliced directions %d (of %d), %s verified,"
                        + " %d failures, %.0f s", started.get() - p1Started, peakDirections, 2L * o.concurrent,
                gib(verifiedBytes.get() - p1Verified), failures.get() - p1Failures, secs(System.nanoTime() - p1Start));
        say(p1);

        phase = "phase 2";
        long p2Start = System.nanoTime();
        long p2Started = started.get();
        long p2Verified = verifiedBytes.get();
        long p2Failures = failures.get();
        long p2Resets = resets.get();
        long deadline = p2Start + TimeUnit.SECONDS.toNanos((long) (o.minutes * 60));
        churn(o.churn, o.parallel, deadline, 1);
        String p2 = String.format("phase 2: %d churned connections, %s verified, %d injected resets (%d seen as an error by"
                        + " the other side, the rest as EOF), %d failures, %.0f s", started.get() - p2Started,
                gib(verifiedBytes.get() - p2Verified), resets.get() - p2Resets, resetsPeerError.get(),
                failures.get() - p2Failures, secs(System.nanoTime() - p2Start));
        say(p2);

        phase = "settle";
        settle();
        Snapshot after = snapshot("after");
        List<String> leaks = leaks(base, after);
        String summary = proxy.stop();
        say("proxy exit summary: " + summary);

        say("RESULT " + p1);
        say("RESULT " + p2);
        say(String.format("RESULT total: %d connections, %s verified by SHA-256 both ways, %d failures (lost, corrupted or"
                + " hung), leaks: %s", finished.get(), gib(verifiedBytes.get()), failures.get(),
                leaks.isEmpty() ? "none" : String.join("; ", leaks)));
        synchronized (failureLines) {
            for (String f : failureLines) say("FAILURE " + f);
        }
        return failures.get() == 0 && leaks.isEmpty() ? 0 : 1;
    }

    // ------------------------------------------------------------------ phases

    /** Phase 1: n connections at once; returns the peak of DirectionsActive. */
    private long concurrent(int n) throws Exception {
        barrier = new CountDownLatch(1);
        Semaphore connecting = new Semaphore(64);
        CountDownLatch all = new CountDownLatch(n);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(1800);
        CountDownLatch connected = new CountDownLatch(n);
        for (int i = 0; i < n; i++) {
            long id = Plan.PHASE1_BIT | i;
            connecting.acquire();
            launch(Plan.of(o.seed, id, o.phase1Bytes), deadline, () -> {
                connecting.release();
                connected.countDown();
            }, all);
        }
        connected.await();
        say("phase 1: all " + n + " clients connected; waiting (at most 120 s) until the agent has spliced both"
                + " directions of each");
        // every connection open and past its first part: wait for the kernel to have them all
        long peak = 0;
        long waitUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < waitUntil) {
            long d = proxy.longAttribute("DirectionsActive");
            peak = Math.max(peak, d);
            if (d >= 2L * n) break;
            Thread.sleep(500);
        }
        Map<String, Long> entries = proxy.mapAttribute("MapEntries");
        say("phase 1: " + n + " connections open, spliced directions " + peak + ", map entries " + entries
                + ", proxy fds " + proxy.fds() + ", threads " + proxy.threads());
        barrier.countDown();
        all.await();
        return peak;
    }

    /** Churns {@code count} connections, {@code parallel} at a time, until {@code deadline}. */
    private void churn(long count, int parallel, long deadline, long idBase) throws Exception {
        Semaphore slots = new Semaphore(parallel);
        long base = idBase << 40;
        for (long i = 0; i < count && System.nanoTime() < deadline; i++) {
            slots.acquire();
            launch(Plan.of(o.seed, base + i, o.phase1Bytes), System.nanoTime() + TimeUnit.SECONDS.toNanos(300),
                    null, null, slots::release);
        }
        slots.acquire(parallel); // all done
        slots.release(parallel);
    }

    private void launch(Plan plan, long deadlineNanos, Runnable connected, CountDownLatch done) {
        launch(plan, deadlineNanos, connected, done, null);
    }

    private void launch(Plan plan, long deadlineNanos, Runnable connected, CountDownLatch done, Runnable finishedHook) {
        SoakConnection c = new SoakConnection(plan, o.seed, deadlineNanos);
        byId.put(plan.id(), c);
        running.add(c);
        started.incrementAndGet();
        threads.execute(() -> {
            try {
                Socket s = new Socket();
                try {
                    s.setTcpNoDelay(true);
                    s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), proxy.port), 120_000);
                    c.clientSocket = s;
                    s.getOutputStream().write(ByteBuffer.allocate(8).putLong(plan.id()).array());
                } catch (IOException e) {
                    c.clientOut.outcome = "error: connect " + e;
                    c.clientIn.outcome = "error: connect " + e;
                    c.backendIn.outcome = "error: connect";
                    c.backendOut.outcome = "error: connect";
                    c.clientDone.countDown();
                    c.sidesDone.countDown();
                    c.sidesDone.countDown();
                    try {
                        s.close();
                    } catch (IOException ignored) {
                        // closed
                    }
                    return;
                } finally {
                    if (connected != null) connected.run();
                }
                c.runSide(s, true, barrier, threads::execute, readTimeout(plan));
            } finally {
                threads.execute(() -> complete(c, done, finishedHook));
            }
        });
    }

    /** Phase-1 connections wait at the barrier until every connection is open: no read timeout then. */
    private int readTimeout(Plan plan) {
        return plan.pauseAfter() > 0 ? 0 : o.readTimeoutMillis;
    }

    private void complete(SoakConnection c, CountDownLatch done, Runnable hook) {
        try {
            long left = c.deadlineNanos - System.nanoTime();
            if (c.plan.rst() == Plan.RST_CLIENT && c.clientDone.await(Math.max(1, left), TimeUnit.NANOSECONDS)
                    && !c.sidesDone.await(15, TimeUnit.SECONDS) && c.backendSocket == null) {
                // the client reset before its header reached the backend: the proxy had nothing to forward
                c.backendNeverConnected();
            }
            left = c.deadlineNanos - System.nanoTime();
            if (!c.sidesDone.await(Math.max(1, left), TimeUnit.NANOSECONDS)) {
                c.abandon();
                c.sidesDone.await(30, TimeUnit.SECONDS);
            }
            SoakConnection.Verdict v = c.verify();
            verifiedBytes.addAndGet(v.bytesVerified());
            if (v.injectedReset()) {
                resets.incrementAndGet();
                if (v.peerSawError()) resetsPeerError.incrementAndGet();
            }
            if (!v.ok()) {
                failures.incrementAndGet();
                synchronized (failureLines) {
                    if (failureLines.size() < 50) failureLines.add(v.problem());
                }
                say("FAILURE " + v.problem());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            byId.remove(c.plan.id());
            running.remove(c);
            finished.incrementAndGet();
            if (done != null) done.countDown();
            if (hook != null) hook.run();
        }
    }

    private void acceptLoop() {
        while (!backend.isClosed()) {
            Socket s;
            try {
                s = backend.accept();
            } catch (IOException e) {
                continue;
            }
            threads.execute(() -> serve(s));
        }
    }

    private void serve(Socket s) {
        long id;
        try {
            s.setTcpNoDelay(true);
            s.setSoTimeout(o.readTimeoutMillis);
            id = new DataInputStream(s.getInputStream()).readLong();
        } catch (IOException e) {
            // a client reset before its header got through: nothing planned reached us
            closeQuietly(s);
            return;
        }
        SoakConnection c = byId.get(id);
        if (c == null) {
            say("backend: unknown connection id " + Long.toHexString(id));
            closeQuietly(s);
            return;
        }
        synchronized (c) {
            if (c.backendGivenUp) {
                closeQuietly(s); // already counted as never connected
                return;
            }
            c.backendSocket = s;
        }
        c.runSide(s, false, barrier, threads::execute, readTimeout(c.plan));
    }

    /** Waits until the proxy has no spliced direction and its fds stop changing. */
    private void settle() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        Map<String, Long> last = null;
        int stable = 0;
        while (System.nanoTime() < deadline && stable < 3) {
            Thread.sleep(1000);
            Map<String, Long> now = proxy.fds();
            now.put("directions", proxy.longAttribute("DirectionsActive"));
            stable = now.equals(last) && now.get("directions") == 0 ? stable + 1 : 0;
            last = now;
        }
        Thread.sleep(2000); // the engine's released slots leave their 1 s quarantine
    }

    // ------------------------------------------------------------------ measurements

    record Snapshot(String name, Map<String, Long> fds, Map<String, Long> threads, Map<String, Long> mapEntries,
                    Map<String, Long> kernel) {}

    private Snapshot snapshot(String name) {
        Snapshot s = new Snapshot(name, proxy.fds(), proxy.threads(), proxy.mapAttribute("MapEntries"), kernel());
        say(name + ": proxy fds " + s.fds + ", threads " + s.threads + ", map entries " + s.mapEntries + ", kernel "
                + s.kernel);
        return s;
    }

    /** TCP sockets and memory (/proc/net/sockstat; mem in pages) and slab (/proc/meminfo, kB). */
    static Map<String, Long> kernel() {
        Map<String, Long> out = new TreeMap<>();
        try {
            for (String l : Files.readAllLines(Path.of("/proc/net/sockstat"))) {
                if (!l.startsWith("TCP:")) continue;
                String[] c = l.substring(4).trim().split("\\s+");
                for (int i = 0; i + 1 < c.length; i += 2) out.put("tcp_" + c[i], Long.parseLong(c[i + 1]));
            }
            for (String l : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (l.startsWith("Slab:") || l.startsWith("SUnreclaim:")) {
                    String[] c = l.split("\\s+");
                    out.put(c[0].substring(0, c[0].length() - 1) + "_kB", Long.parseLong(c[1]));
                }
            }
        } catch (IOException e) {
            out.put("error", 1L);
        }
        return out;
    }

    /**
     * Leaks, as numbers: map entries must be 0; the proxy's non-JMX fds and its application
     * threads must be back at the baseline; TCP memory within 1 MiB (256 pages) of the baseline
     * and unreclaimable slab within 32 MiB (the machine may be shared: others' sockets count too).
     */
    private static List<String> leaks(Snapshot base, Snapshot after) {
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, Long> e : after.mapEntries.entrySet()) {
            if (e.getValue() != 0) out.add("map " + e.getKey() + " " + e.getValue());
        }
        if (after.mapEntries.isEmpty()) out.add("map entries unknown (MBean not readable)");
        for (String k : List.of("socket", "bpf", "other")) {
            long d = after.fds.get(k) - base.fds.get(k);
            if (d > 0) out.add("fds " + k + " +" + d);
        }
        long dt = after.threads.get("app") - base.threads.get("app");
        if (dt > 0) out.add("threads +" + dt);
        long mem = after.kernel.getOrDefault("tcp_mem", 0L) - base.kernel.getOrDefault("tcp_mem", 0L);
        if (mem > 256) out.add("TCP mem +" + mem + " pages");
        long slab = after.kernel.getOrDefault("SUnreclaim_kB", 0L) - base.kernel.getOrDefault("SUnreclaim_kB", 0L);
        if (slab > 32 * 1024) out.add("SUnreclaim +" + slab + " kB");
        say("deltas after - baseline: fds " + delta(base.fds, after.fds) + ", threads " + delta(base.threads, after.threads)
                + ", kernel " + delta(base.kernel, after.kernel));
        return out;
    }

    private static Map<String, Long> delta(Map<String, Long> a, Map<String, Long> b) {
        Map<String, Long> out = new TreeMap<>();
        for (String k : b.keySet()) out.put(k, b.get(k) - a.getOrDefault(k, 0L));
        return out;
    }

    private void progressLoop() {
        while (true) {
            ProxyProcess.sleep(10_000);
            say(String.format("%s: started %d, finished %d, running %d, %s verified, failures %d; proxy: spliced"
                            + " directions %d active / %d total, kernel bytes %s, aborts %d, fallbacks %s, fds %s, threads %s",
                    phase, started.get(), finished.get(), running.size(), gib(verifiedBytes.get()), failures.get(),
                    proxy.longAttribute("DirectionsActive"), proxy.longAttribute("DirectionsSpliced"),
                    gib(Math.max(0, proxy.longAttribute("KernelBytesClientToServer"))
                            + Math.max(0, proxy.longAttribute("KernelBytesServerToClient"))),
                    proxy.longAttribute("Aborts"), nonZero(proxy.mapAttribute("Fallbacks")), proxy.fds(), proxy.threads()));
        }
    }

    private static Map<String, Long> nonZero(Map<String, Long> m) {
        Map<String, Long> out = new TreeMap<>(m);
        out.values().removeIf(v -> v == 0);
        return out;
    }

    static String gib(long bytes) {
        return String.format("%.2f GiB", bytes / (double) (1L << 30));
    }

    private static double secs(long nanos) {
        return nanos / 1e9;
    }

    static void say(String s) {
        System.out.printf("[soak %6.1fs %s] %s%n", secs(System.nanoTime() - START), Instant.now().toString().substring(11, 19), s);
        System.out.flush();
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closed
        }
    }

    /** Virtual threads on JDK 21+ (reflectively: this module compiles for 17), else a cached pool. */
    private static ExecutorService virtualThreads() {
        try {
            return (ExecutorService) Executors.class.getMethod("newVirtualThreadPerTaskExecutor").invoke(null);
        } catch (ReflectiveOperationException e) {
            say("no virtual threads (JDK " + Runtime.version() + "): using platform threads");
            return Executors.newCachedThreadPool(r -> {
                Thread t = new Thread(r);
                t.setDaemon(true);
                return t;
            });
        }
    }

    // ------------------------------------------------------------------ options

    static final class Options {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> jvmOptions = new ArrayList<>();
        String classPath;
        String mainClass = "io.sockmap.examples.ThreadPairProxy";
        List<String> proxyArgs = new ArrayList<>(List.of("--listen", "0", "--target", "{target}"));
        int concurrent = 10_000;
        long churn = 100_000;
        int parallel = 200;
        double minutes = 5;
        long seed = 1;
        long phase1Bytes = 64 * 1024;
        int readTimeoutMillis = 120_000;

        static Options parse(String[] args) {
            Options o = new Options();
            boolean customArgs = false;
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                String v = i + 1 < args.length ? args[i + 1] : null;
                switch (a) {
                    case "--java" -> o.java = v;
                    case "--jvm-opt" -> o.jvmOptions.add(v);
                    case "--cp" -> o.classPath = v;
                    case "--main" -> o.mainClass = v;
                    case "--arg" -> {
                        if (!customArgs) o.proxyArgs.clear();
                        customArgs = true;
                        o.proxyArgs.add(v);
                    }
                    case "--concurrent" -> o.concurrent = Integer.parseInt(v);
                    case "--churn" -> o.churn = Long.parseLong(v);
                    case "--parallel" -> o.parallel = Integer.parseInt(v);
                    case "--minutes" -> o.minutes = Double.parseDouble(v);
                    case "--seed" -> o.seed = Long.parseLong(v);
                    case "--phase1-bytes" -> o.phase1Bytes = Long.parseLong(v);
                    default -> throw new IllegalArgumentException("unknown option " + a + " (see scripts/soak.sh)");
                }
                i++;
            }
            if (o.classPath == null) throw new IllegalArgumentException("--cp CLASSPATH of the proxy is required");
            return o;
        }

        @Override
        public String toString() {
            return "main " + mainClass + " " + proxyArgs + ", jvm " + jvmOptions + ", concurrent " + concurrent + ", churn "
                    + churn + " x" + parallel + " for <= " + minutes + " min, seed " + seed;
        }
    }
}
