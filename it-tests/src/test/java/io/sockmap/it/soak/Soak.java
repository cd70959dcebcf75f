package io.sockmap.it.soak;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
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
 * The soak: {@code --proxies} proxy JVMs (any main class + arguments, default the example
 * {@code ThreadPairProxy}), each with the agent, in front of a backend in its own JVM
 * ({@link SoakBackend}); this JVM's clients drive them on loopback, spreading the connections
 * over the proxies round robin. Why several processes: a process may hold at most
 * {@code ulimit -n} fds (20,000 here; raising it needs {@code CAP_SYS_RESOURCE}), a
 * thread-per-connection proxy holds 2 per connection, and the client ends and the backend ends
 * need one each. Run it with {@code bash scripts/soak.sh} (see there for options).
 *
 * <ol>
 *   <li>warm-up (200 connections), then a baseline of the proxies' fds and threads, the engines'
 *       map entries, the driver's and the backend's socket fds, and the kernel's TCP sockets,
 *       TCP memory and slab;</li>
 *   <li>phase 1: {@code --concurrent} connections (10,000) open at once (opened with at most
 *       {@code --phase1-window} of them not yet spliced); each side writes {@code --phase1-bytes}
 *       (so both directions get spliced), waits until the agent reports every direction spliced
 *       (or 300 s), writes as much again, half-closes;</li>
 *   <li>phase 2: {@code --churn} connections (100,000), {@code --parallel} at a time, for at most
 *       {@code --minutes}: random sizes 0 B to 64 MiB (skewed small), random half-close order,
 *       4% client resets and 4% backend resets mid-stream, 2% slow readers;</li>
 *   <li>every byte is checked by SHA-256 in both directions (for a reset connection: what
 *       arrived must be an exact prefix of what was sent; no side may hang);</li>
 *   <li>after: map entries 0, fds, threads, allocated TCP sockets and kernel memory back to the
 *       baseline (waiting at most {@code --settle-seconds} for the kernel to free closed sockets);
 *       then who holds TCP sockets is printed with every process alive, after the backend
 *       stopped, and after the proxies stopped.</li>
 * </ol>
 * Exit status 0 when nothing was lost, nothing hung and nothing leaked.
 */
public final class Soak {
    private static final long START = System.nanoTime();
    /** How long a phase-1 connection may take (they wait for each other), and a churned one. */
    static final long PHASE1_SECONDS = 1800;
    static final long CHURN_SECONDS = 300;

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
    private BackendProcess backend;
    private ProxyGroup proxies;
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
        say("options: " + o);
        backend = BackendProcess.start(o.backendJava, List.of("-Xss256k", "-Xmx" + o.backendHeap), o.seed, o.phase1Bytes,
                o.readTimeoutMillis, this::onBackendReport);
        say("backend pid " + backend.process.pid() + " listening on " + backend.port);
        List<ProxyProcess> proxyList = new ArrayList<>();
        for (int i = 0; i < o.proxies; i++) {
            ProxyProcess p = ProxyProcess.start(o.java, o.jvmOptions, o.classPath, o.mainClass, o.proxyArgs,
                    new InetSocketAddress(InetAddress.getLoopbackAddress(), backend.port));
            proxyList.add(p);
            say("proxy " + (i + 1) + "/" + o.proxies + " pid " + p.process.pid() + " listening on " + p.port + ", JMX on "
                    + p.jmxPort + "; agent mode " + p.attribute("Mode") + " " + p.attribute("Reason"));
        }
        proxies = new ProxyGroup(proxyList);
        say(String.format("%,d concurrent connections spread over %d proxy JVMs (%,d each at most): a process may hold"
                + " %s fds", o.concurrent, o.proxies, (o.concurrent + o.proxies - 1) / o.proxies, fdLimit()));
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
        settleKernel(base);
        Snapshot after = snapshot("after");
        List<String> leaks = leaks(base, after);
        socketsReport("all processes alive");
        backend.stop();
        say("backend stopped (exit " + backend.process.exitValue() + ")");
        ProxyProcess.sleep(5000);
        socketsReport("backend stopped, proxies alive");
        for (ProxyProcess p : proxies.proxies) say("proxy " + p.process.pid() + " exit summary: " + p.stop());
        ProxyProcess.sleep(5000);
        socketsReport("backend and proxies stopped");

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
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(PHASE1_SECONDS);
        CountDownLatch connected = new CountDownLatch(n);
        long splicedBefore = proxies.longAttribute("DirectionsSpliced");
        for (int i = 0; i < n; i++) {
            long id = Plan.PHASE1_BIT | i;
            if (i > 0 && i % 100 == 0) awaitSpliced(splicedBefore, i);
            connecting.acquire();
            launch(Plan.of(o.seed, id, o.phase1Bytes), deadline, () -> {
                connecting.release();
                connected.countDown();
            }, all);
        }
        connected.await();
        say("phase 1: all " + n + " clients connected; waiting (at most 300 s) until the agent has spliced both"
                + " directions of each");
        // every connection open and past its first part: wait for the kernel to have them all
        long peak = 0;
        long waitUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
        while (System.nanoTime() < waitUntil) {
            long d = proxies.longAttribute("DirectionsActive");
            peak = Math.max(peak, d);
            if (d >= 2L * n) break;
            Thread.sleep(500);
        }
        Map<String, Long> entries = proxies.mapAttribute("MapEntries");
        say("phase 1: " + n + " connections open, spliced directions " + peak + ", map entries " + entries
                + ", proxy fds " + proxies.fds() + ", threads " + proxies.threads() + ", socket fds: driver "
                + socketFds(ProcessHandle.current().pid()) + ", backend " + socketFds(backend.process.pid()));
        barrier.countDown();
        backend.releaseBarrier();
        all.await();
        return peak;
    }

    /**
     * Paces phase 1: at most {@code --phase1-window} connections opened but not yet spliced, so the
     * handovers (each one a call on the engine's single watcher thread) do not pile up on a small
     * machine with 2 threads per connection in each proxy. Stops waiting when the spliced count has
     * not moved for 20 s (directions that stay in userspace never count).
     */
    private void awaitSpliced(long splicedBefore, int launched) throws InterruptedException {
        long want = 2L * (launched - o.phase1Window);
        long last = -1;
        long lastMove = System.nanoTime();
        while (true) {
            long spliced = proxies.longAttribute("DirectionsSpliced") - splicedBefore;
            if (spliced >= want || spliced < 0) return;
            long now = System.nanoTime();
            if (spliced != last) {
                last = spliced;
                lastMove = now;
            } else if (now - lastMove > TimeUnit.SECONDS.toNanos(20)) {
                say("phase 1: " + launched + " opened, " + spliced + " directions spliced; no progress for 20 s,"
                        + " opening more anyway");
                return;
            }
            Thread.sleep(100);
        }
    }

    /** Churns {@code count} connections, {@code parallel} at a time, until {@code deadline}. */
    private void churn(long count, int parallel, long deadline, long idBase) throws Exception {
        Semaphore slots = new Semaphore(parallel);
        long base = idBase << 40;
        for (long i = 0; i < count && System.nanoTime() < deadline; i++) {
            slots.acquire();
            launch(Plan.of(o.seed, base + i, o.phase1Bytes), System.nanoTime() + TimeUnit.SECONDS.toNanos(CHURN_SECONDS),
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
        int port = proxies.next().port;
        threads.execute(() -> {
            try {
                Socket s = new Socket();
                try {
                    s.setTcpNoDelay(true);
                    s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 120_000);
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
            if (c.clientDone.await(Math.max(1, left), TimeUnit.NANOSECONDS)
                    && (c.plan.rst() == Plan.RST_CLIENT || c.clientIn.error() || c.clientOut.error())
                    && !c.sidesDone.await(15, TimeUnit.SECONDS)) {
                // the client reset, or the connection was reset on its way, before the header reached the
                // backend: the backend never learns the id, so it cannot report (a failure unless the client
                // reset on purpose; not a 30-minute wait for a report that cannot come)
                c.backendNeverConnected();
            }
            left = c.deadlineNanos - System.nanoTime();
            if (!c.sidesDone.await(Math.max(1, left), TimeUnit.NANOSECONDS)) {
                c.abandon();
                backend.reset(c.plan.id());
                if (!c.sidesDone.await(30, TimeUnit.SECONDS)) {
                    synchronized (c) {
                        for (SoakConnection.Flow f : new SoakConnection.Flow[] {c.backendIn, c.backendOut}) {
                            if (f.outcome.equals("running")) f.outcome = "hang";
                        }
                    }
                }
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

    /** A line from the backend process: a connection's id arrived, or its backend side finished. */
    private void onBackendReport(BackendProcess.Report r) {
        SoakConnection c = byId.get(r.id());
        if (c == null) {
            if (!r.done()) {
                say("backend: unknown connection id " + Long.toHexString(r.id()));
                backend.reset(r.id());
            }
            return;
        }
        if (!r.done()) {
            synchronized (c) {
                if (c.backendGivenUp) {
                    backend.reset(r.id()); // already counted as never connected
                } else {
                    c.backendAccepted = true;
                    c.backendPeerPort = r.peerPort();
                }
            }
            return;
        }
        c.backendDone(r.inBytes(), r.inSha(), r.inOutcome(), r.outBytes(), r.outSha(), r.outOutcome());
    }

    /** Waits until the proxies have no spliced direction and their fds stop changing. */
    private void settle() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        Map<String, Long> last = null;
        int stable = 0;
        while (System.nanoTime() < deadline && stable < 3) {
            Thread.sleep(1000);
            Map<String, Long> now = proxies.fds();
            now.put("directions", proxies.longAttribute("DirectionsActive"));
            stable = now.equals(last) && now.get("directions") == 0 ? stable + 1 : 0;
            last = now;
        }
        Thread.sleep(2000); // the engine's released slots leave their 1 s quarantine
    }

    // ------------------------------------------------------------------ measurements

    /**
     * @param fds     the proxies' fds by kind (summed)
     * @param soakFds socket fds of this driver and of the backend process
     */
    record Snapshot(String name, Map<String, Long> fds, Map<String, Long> threads, Map<String, Long> mapEntries,
                    Map<String, Long> kernel, Map<String, Long> soakFds) {}

    private Snapshot snapshot(String name) throws InterruptedException {
        Snapshot s = new Snapshot(name, proxies.fds(), proxies.threads(), proxies.mapAttribute("MapEntries"), kernelLow(),
                soakFds());
        say(name + ": proxy fds " + s.fds + ", threads " + s.threads + ", map entries " + s.mapEntries + ", kernel "
                + s.kernel + ", socket fds of the driver and the backend " + s.soakFds);
        return s;
    }

    private Map<String, Long> soakFds() {
        Map<String, Long> out = new TreeMap<>();
        out.put("driver", socketFds(ProcessHandle.current().pid()));
        out.put("backend", backend.process.isAlive() ? socketFds(backend.process.pid()) : 0);
        return out;
    }

    /** Socket fds of a process (any kind of socket); -1 if it cannot be read. */
    static long socketFds(long pid) {
        long n = 0;
        try (var fds = Files.list(Path.of("/proc/" + pid + "/fd"))) {
            for (Path fd : (Iterable<Path>) fds::iterator) {
                try {
                    if (Files.readSymbolicLink(fd).toString().startsWith("socket:")) n++;
                } catch (IOException e) {
                    // closed meanwhile
                }
            }
        } catch (IOException e) {
            return -1;
        }
        return n;
    }

    /** This process's open-files limit (soft), as a string. */
    private static String fdLimit() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/limits"))) {
                if (l.startsWith("Max open files")) return l.substring(26).trim().split("\\s+")[0];
            }
        } catch (IOException e) {
            // unknown
        }
        return "?";
    }

    /** TCP sockets the kernel may still hold after the run beyond the baseline, and TCP memory pages. */
    static final long TCP_ALLOC_SLACK = 256;
    static final long TCP_MEM_SLACK = 256;

    /**
     * Waits (at most {@code --settle-seconds}) until the kernel's allocated TCP sockets and TCP
     * memory are back within {@link #TCP_ALLOC_SLACK} / {@link #TCP_MEM_SLACK} of the baseline:
     * sockets closed by a reset or a close with unread data are freed asynchronously, orphans
     * (closed, still sending their FIN) and TIME_WAIT sockets are not counted as allocated.
     * Says every 10 s what it is waiting for.
     */
    private void settleKernel(Snapshot base) throws InterruptedException {
        long baseAlloc = base.kernel.getOrDefault("tcp_alloc", 0L);
        long baseMem = base.kernel.getOrDefault("tcp_mem", 0L);
        long start = System.nanoTime();
        long deadline = start + TimeUnit.SECONDS.toNanos(o.settleSeconds);
        long lastSay = 0;
        while (true) {
            Map<String, Long> k = kernel();
            long alloc = k.getOrDefault("tcp_alloc", 0L);
            long mem = k.getOrDefault("tcp_mem", 0L);
            boolean settled = alloc <= baseAlloc + TCP_ALLOC_SLACK && mem <= baseMem + TCP_MEM_SLACK;
            long now = System.nanoTime();
            if (settled || now >= deadline || now - lastSay >= TimeUnit.SECONDS.toNanos(10)) {
                String what = String.format("TCP sockets allocated %d (baseline %d, allowed +%d), TCP memory %d pages"
                                + " (baseline %d, allowed +%d); %s; socket fds %s, proxies %d", alloc, baseAlloc,
                        TCP_ALLOC_SLACK, mem, baseMem, TCP_MEM_SLACK, k, soakFds(), proxies.fds().get("socket"));
                if (settled) {
                    say(String.format("kernel settled after %.0f s: %s", secs(now - start), what));
                    return;
                }
                if (now >= deadline) {
                    say(String.format("kernel did not settle within %d s: %s", o.settleSeconds, what));
                    return;
                }
                say("waiting for the kernel to free TCP sockets: " + what);
                lastSay = now;
            }
            Thread.sleep(1000);
        }
    }

    /**
     * Who holds TCP sockets: the kernel's counters, TCP sockets by state (from /proc/net/tcp,
     * which lists only hashed sockets: a socket in CLOSE that a process still has open is
     * counted in {@code alloc} but not listed), and socket fds per process of the soak.
     */
    private void socketsReport(String when) {
        Map<String, Long> states = new TreeMap<>();
        String[] names = {"?", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT", "CLOSE",
                "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV"};
        for (String f : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
            try (var lines = Files.lines(Path.of(f))) {
                lines.skip(1).forEach(l -> {
                    String[] c = l.trim().split("\\s+");
                    if (c.length < 4) return;
                    int st = Integer.parseInt(c[3], 16);
                    states.merge(st < names.length ? names[st] : c[3], 1L, Long::sum);
                });
            } catch (IOException | RuntimeException e) {
                states.put("unreadable " + f, 1L);
            }
        }
        StringBuilder fds = new StringBuilder("driver " + socketFds(ProcessHandle.current().pid()));
        if (backend.process.isAlive()) fds.append(", backend ").append(socketFds(backend.process.pid()));
        for (ProxyProcess p : proxies.proxies) {
            if (p.process.isAlive()) fds.append(", proxy ").append(p.process.pid()).append(' ').append(socketFds(p.process.pid()));
        }
        Map<String, Long> k = kernel();
        long hashed = states.values().stream().mapToLong(Long::longValue).sum() - states.getOrDefault("TIME_WAIT", 0L);
        say("sockets (" + when + "): kernel " + k + "; hashed TCP sockets by state " + states + "; allocated but not"
                + " hashed (closed by the kernel, e.g. after a reset, but not yet released by a process or freed) "
                + (k.getOrDefault("tcp_alloc", 0L) - hashed) + "; socket fds: " + fds);
    }

    /**
     * {@link #kernel()} sampled 5 times over 2 s, each figure's lowest: the counters are
     * machine-wide and jump by thousands while another process runs a test; a leak stays.
     */
    static Map<String, Long> kernelLow() throws InterruptedException {
        Map<String, Long> low = kernel();
        for (int i = 0; i < 4; i++) {
            Thread.sleep(500);
            kernel().forEach((k, v) -> low.merge(k, v, Math::min));
        }
        return low;
    }

    /** TCP sockets and memory (/proc/net/sockstat and sockstat6; mem in pages) and slab (/proc/meminfo, kB). */
    static Map<String, Long> kernel() {
        Map<String, Long> out = new TreeMap<>();
        try {
            for (String l : Files.readAllLines(Path.of("/proc/net/sockstat"))) {
                if (!l.startsWith("TCP:")) continue;
                String[] c = l.substring(4).trim().split("\\s+");
                for (int i = 0; i + 1 < c.length; i += 2) out.put("tcp_" + c[i], Long.parseLong(c[i + 1]));
            }
            // Java's sockets are IPv6 (dual-stack) sockets: "inuse" counts them here, alloc counts both
            for (String l : Files.readAllLines(Path.of("/proc/net/sockstat6"))) {
                if (!l.startsWith("TCP6:")) continue;
                String[] c = l.substring(5).trim().split("\\s+");
                for (int i = 0; i + 1 < c.length; i += 2) out.put("tcp6_" + c[i], Long.parseLong(c[i + 1]));
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
     * Leaks, as numbers: map entries must be 0; the proxies' non-JMX fds and their application
     * threads, and the socket fds of this driver and of the backend, must be back at the baseline;
     * allocated TCP sockets within 256 and TCP memory within 1 MiB (256 pages) of the baseline and
     * unreclaimable slab within 32 MiB (the machine may be shared: others' sockets count too).
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
        for (String k : after.soakFds.keySet()) {
            long d = after.soakFds.get(k) - base.soakFds.getOrDefault(k, 0L);
            if (d > 0) out.add(k + " socket fds +" + d);
        }
        long alloc = after.kernel.getOrDefault("tcp_alloc", 0L) - base.kernel.getOrDefault("tcp_alloc", 0L);
        if (alloc > TCP_ALLOC_SLACK) out.add("TCP sockets allocated +" + alloc);
        long mem = after.kernel.getOrDefault("tcp_mem", 0L) - base.kernel.getOrDefault("tcp_mem", 0L);
        if (mem > TCP_MEM_SLACK) out.add("TCP mem +" + mem + " pages");
        long slab = after.kernel.getOrDefault("SUnreclaim_kB", 0L) - base.kernel.getOrDefault("SUnreclaim_kB", 0L);
        if (slab > 32 * 1024) out.add("SUnreclaim +" + slab + " kB");
        say("deltas after - baseline: fds " + delta(base.fds, after.fds) + ", threads " + delta(base.threads, after.threads)
                + ", kernel " + delta(base.kernel, after.kernel) + ", socket fds of the driver and the backend "
                + delta(base.soakFds, after.soakFds));
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
                    proxies.longAttribute("DirectionsActive"), proxies.longAttribute("DirectionsSpliced"),
                    gib(Math.max(0, proxies.longAttribute("KernelBytesClientToServer"))
                            + Math.max(0, proxies.longAttribute("KernelBytesServerToClient"))),
                    proxies.longAttribute("Aborts"), nonZero(proxies.mapAttribute("Fallbacks")), proxies.fds(),
                    proxies.threads()));
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
    static ExecutorService virtualThreads() {
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
        String backendJava = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String backendHeap = "3g";
        int proxies = 2;
        int settleSeconds = 120;
        int concurrent = 10_000;
        long churn = 100_000;
        int parallel = 200;
        double minutes = 15;
        long seed = 1;
        long phase1Bytes = 64 * 1024;
        int phase1Window = 500;
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
                    case "--proxies" -> o.proxies = Integer.parseInt(v);
                    case "--phase1-window" -> o.phase1Window = Integer.parseInt(v);
                    case "--settle-seconds" -> o.settleSeconds = Integer.parseInt(v);
                    case "--backend-heap" -> o.backendHeap = v;
                    case "--backend-java" -> o.backendJava = v;
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
            if (o.proxies < 1) throw new IllegalArgumentException("--proxies must be at least 1");
            return o;
        }

        @Override
        public String toString() {
            return "main " + mainClass + " " + proxyArgs + ", jvm " + jvmOptions + ", " + proxies + " proxies, concurrent "
                    + concurrent + " (at most " + phase1Window + " not yet spliced), churn " + churn + " x" + parallel
                    + " for <= " + minutes + " min, seed " + seed
                    + ", settle <= " + settleSeconds + " s";
        }
    }
}
