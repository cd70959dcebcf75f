package io.sockmap.it;

import static io.sockmap.it.BlockingProxyAgentIT.artifact;
import static io.sockmap.it.BlockingProxyAgentIT.currentJdk;
import static io.sockmap.it.BlockingProxyAgentIT.log;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.sun.jna.Memory;
import io.sockmap.it.BlockingProxyAgentIT.Transfer;
import io.sockmap.kernel.KernelException;
import io.sockmap.kernel.LibC;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Least privilege and isolation, with the packaged agent in example proxies:
 * <ul>
 *   <li>a proxy running as uid 65534 with only {@code CAP_BPF} + {@code CAP_NET_ADMIN} (ambient
 *       capabilities through {@code setpriv}) splices;</li>
 *   <li>two proxies with the agent at once each splice their own pairs, with separate counters
 *       and separate maps (their map ids, from {@code /proc/PID/fdinfo}, are disjoint);</li>
 *   <li>the maps are never pinned (nothing appears under a bpffs mount) and a process without
 *       {@code CAP_SYS_ADMIN} cannot open them by id ({@code BPF_MAP_GET_FD_BY_ID}: EPERM).
 *       Root (CAP_SYS_ADMIN) still can: see docs/RELIABILITY.md.</li>
 * </ul>
 */
class IsolationIT {
    private static final Pattern LISTENING = Pattern.compile("listening on (\\d+)");
    private static final Pattern SUMMARY = Pattern.compile("kernel bytes c->s (\\d+) / s->c (\\d+)");
    private static final long MIB = 1L << 20;

    @TempDir
    Path tmp;

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void aNonRootProxyWithOnlyCapBpfAndCapNetAdminSplices() throws Exception {
        List<String> prefix = asUid65534With("+bpf,+net_admin");
        Path dir = worldReadableCopies();
        try (Proc backend = Proc.start(List.of(), dir, List.of(), "Backend", "--mode", "echo");
             Proc proxy = Proc.start(prefix, dir, List.of("-javaagent:" + dir.resolve("sockmap-agent.jar")),
                     "ThreadPairProxy", "--target", "127.0.0.1:" + backend.port)) {
            String startUp = proxy.awaitLine("sockmap-agent ");
            assertTrue(startUp.contains("splicing enabled (caps: CAP_BPF,CAP_NET_ADMIN, maps:"), startUp);
            // without CAP_PERFMON the guarded verdict cannot read kernel structs: the plain one is attached
            assertTrue(startUp.endsWith("sequence guard: off)"), startUp);
            assertTrue(proxy.awaitLine("sequence guard off (").contains("CAP_PERFMON"), proxy.stderrText());
            assertEquals("65534", statusField(proxy.process.pid(), "Uid").split("\\s+")[1], "runs as uid 65534");
            Transfer t = Transfer.run(proxy.port, 32 * MIB, false);
            assertEquals(t.sent, t.received, "SHA-256 both ways");
            long[] kernel = proxy.stopAndReadSummary();
            log("uid 65534 with CAP_BPF+CAP_NET_ADMIN: kernel bytes c->s " + kernel[0] + ", s->c " + kernel[1]);
            assertTrue(kernel[0] > 16 * MIB && kernel[1] > 16 * MIB, "spliced: " + proxy.stderrText());
        }
    }

    /** With CAP_PERFMON added, the guarded verdict program loads: the documented way to get the sequence guard. */
    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void addingCapPerfmonTurnsTheSequenceGuardOn() throws Exception {
        List<String> prefix = asUid65534With("+bpf,+net_admin,+perfmon");
        Path dir = worldReadableCopies();
        try (Proc backend = Proc.start(List.of(), dir, List.of(), "Backend", "--mode", "echo");
             Proc proxy = Proc.start(prefix, dir, List.of("-javaagent:" + dir.resolve("sockmap-agent.jar")),
                     "ThreadPairProxy", "--target", "127.0.0.1:" + backend.port)) {
            String startUp = proxy.awaitLine("sockmap-agent ");
            assertTrue(startUp.contains("caps: CAP_BPF,CAP_NET_ADMIN,CAP_PERFMON") && startUp.endsWith("sequence guard: on)"),
                    startUp);
            Transfer t = Transfer.run(proxy.port, 8 * MIB, false);
            assertEquals(t.sent, t.received, "SHA-256 both ways");
            long[] kernel = proxy.stopAndReadSummary();
            assertTrue(kernel[0] > 4 * MIB && kernel[1] > 4 * MIB, "spliced: " + proxy.stderrText());
        }
    }

    /** {@code setpriv} arguments that run a command as uid/gid 65534 with only {@code caps} (e.g. {@code +bpf,+net_admin}). */
    private static List<String> asUid65534With(String caps) {
        Path setpriv = Path.of("/usr/bin/setpriv");
        if (!Files.isExecutable(setpriv)) BlockingProxyAgentIT.unavailable("needs " + setpriv + " (util-linux)");
        return List.of(setpriv.toString(), "--reuid=65534", "--regid=65534", "--clear-groups",
                "--inh-caps=-all," + caps, "--ambient-caps=-all," + caps, "--bounding-set=-all," + caps);
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void twoProxiesOnOneMachineSpliceOnlyTheirOwnPairs() throws Exception {
        Path dir = worldReadableCopies();
        Set<String> pinnedBefore = bpffsEntries();
        List<String> agent = List.of("-javaagent:" + dir.resolve("sockmap-agent.jar"));
        try (Proc backend = Proc.start(List.of(), dir, List.of(), "Backend", "--mode", "echo");
             Proc a = Proc.start(List.of(), dir, agent, "ThreadPairProxy", "--target", "127.0.0.1:" + backend.port);
             Proc b = Proc.start(List.of(), dir, agent, "TransferToProxy", "--target", "127.0.0.1:" + backend.port)) {
            a.awaitLine("splicing enabled");
            b.awaitLine("splicing enabled");
            Set<String> mapsA = mapIds(a.process.pid());
            Set<String> mapsB = mapIds(b.process.pid());
            assertTrue(!mapsA.isEmpty() && !mapsB.isEmpty(), "each proxy holds its own maps: " + mapsA + " " + mapsB);
            Set<String> shared = new HashSet<>(mapsA);
            shared.retainAll(mapsB);
            assertEquals(Set.of(), shared, "no map is shared between the two JVMs");

            CompletableFuture<Transfer> ta = CompletableFuture.supplyAsync(() -> transfer(a.port, 16 * MIB));
            CompletableFuture<Transfer> tb = CompletableFuture.supplyAsync(() -> transfer(b.port, 64 * MIB));
            Transfer ra = ta.get(120, TimeUnit.SECONDS);
            Transfer rb = tb.get(120, TimeUnit.SECONDS);
            assertEquals(ra.sent, ra.received);
            assertEquals(rb.sent, rb.received);

            // another process without CAP_SYS_ADMIN cannot open proxy a's maps by id
            for (String id : mapsA) assertEquals("EPERM", openMapById(id), "map " + id + " of proxy a");
            assertEquals(pinnedBefore, bpffsEntries(), "nothing pinned in bpffs");

            long[] ka = a.stopAndReadSummary();
            long[] kb = b.stopAndReadSummary();
            log("two proxies: a moved " + ka[0] + "/" + ka[1] + " B in the kernel for its 16 MiB, b " + kb[0] + "/" + kb[1]
                    + " B for its 64 MiB");
            assertTrue(ka[0] <= 16 * MIB && ka[1] <= 16 * MIB && ka[0] > 8 * MIB, "a counts only its own pair: " + ka[0]);
            assertTrue(kb[0] <= 64 * MIB && kb[1] <= 64 * MIB && kb[0] > 32 * MIB, "b counts only its own pair: " + kb[0]);
        }
    }

    // ------------------------------------------------------------------ helpers

    private static Transfer transfer(int port, long bytes) {
        try {
            return Transfer.run(port, bytes, false);
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }

    /** The agent and examples jars copied where uid 65534 can read them. */
    private Path worldReadableCopies() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("jars"));
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        for (String[] a : new String[][] {{"sockmap.agent.jar", "agent/target/sockmap-agent.jar"},
                {"sockmap.examples.jar", "examples/target/sockmap-examples.jar"}}) {
            Path src = artifact(a[0], a[1]);
            Path copy = Files.copy(src, dir.resolve(src.getFileName()));
            Files.setPosixFilePermissions(copy, PosixFilePermissions.fromString("rw-r--r--"));
        }
        return dir;
    }

    /** {@code map_id}s of the BPF map fds a process holds ({@code /proc/PID/fdinfo}). */
    static Set<String> mapIds(long pid) throws IOException {
        Set<String> ids = new HashSet<>();
        try (Stream<Path> fds = Files.list(Path.of("/proc/" + pid + "/fdinfo"))) {
            for (Path f : (Iterable<Path>) fds::iterator) {
                try {
                    for (String l : Files.readAllLines(f)) {
                        if (l.startsWith("map_id:")) ids.add(l.substring(7).trim());
                    }
                } catch (IOException e) {
                    // closed meanwhile
                }
            }
        }
        return ids;
    }

    /** Every path under a mounted bpffs (none mounted: empty). */
    static Set<String> bpffsEntries() throws IOException {
        Set<String> out = new HashSet<>();
        for (String l : Files.readAllLines(Path.of("/proc/mounts"))) {
            String[] c = l.split(" ");
            if (c.length > 2 && c[2].equals("bpf")) {
                try (Stream<Path> all = Files.walk(Path.of(c[1]))) {
                    all.forEach(p -> out.add(p.toString()));
                }
            }
        }
        return out;
    }

    /** Runs {@link OpenMapById} as uid 65534 with CAP_BPF + CAP_NET_ADMIN only; returns its answer. */
    private static String openMapById(String id) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/setpriv", "--inh-caps=-all,+bpf,+net_admin",
                "--ambient-caps=-all,+bpf,+net_admin", "--bounding-set=-all,+bpf,+net_admin",
                currentJdk().resolve("bin/java").toString(), "-cp", System.getProperty("java.class.path"),
                OpenMapById.class.getName(), id));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        String[] lines = out.split("\n");
        return lines[lines.length - 1];
    }

    /** {@code BPF_MAP_GET_FD_BY_ID} for the id in args[0]; prints OK or the errno name. */
    public static final class OpenMapById {
        public static void main(String[] args) {
            try (Memory attr = new Memory(144)) {
                attr.clear();
                attr.setInt(0, Integer.parseInt(args[0]));
                int fd = LibC.bpf(14 /* BPF_MAP_GET_FD_BY_ID */, attr, 144, "open map by id");
                LibC.closeFd(fd);
                System.out.println("OK");
            } catch (KernelException e) {
                System.out.println(io.sockmap.kernel.Errno.name(e.errno()));
            }
        }
    }

    static String statusField(long pid, String field) throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (l.startsWith(field + ":")) return l.substring(field.length() + 1).trim();
        }
        return "";
    }

    /** An examples program in a child JVM, optionally behind a command prefix (setpriv ...). */
    static final class Proc implements AutoCloseable {
        final Process process;
        final int port;
        /** Live: the reader thread appends as the child prints. */
        final List<String> stdout;
        final List<String> stderr;

        private Proc(Process process, int port, List<String> stdout, List<String> stderr) {
            this.process = process;
            this.port = port;
            this.stdout = stdout;
            this.stderr = stderr;
        }

        static Proc start(List<String> prefix, Path jars, List<String> jvm, String program, String... args) throws Exception {
            List<String> cmd = new ArrayList<>(prefix);
            cmd.add(currentJdk().resolve("bin/java").toString());
            cmd.addAll(jvm);
            cmd.addAll(List.of("-cp", jars.resolve("sockmap-examples.jar").toString(), "io.sockmap.examples." + program,
                    "--listen", "0"));
            cmd.addAll(List.of(args));
            Process p = new ProcessBuilder(cmd).start();
            CompletableFuture<Integer> port = new CompletableFuture<>();
            List<String> out = new CopyOnWriteArrayList<>();
            List<String> err = new CopyOnWriteArrayList<>();
            pump(p.getInputStream(), out, port);
            pump(p.getErrorStream(), err, null);
            try {
                return new Proc(p, port.get(60, TimeUnit.SECONDS), out, err);
            } catch (Exception e) {
                p.destroyForcibly();
                throw new AssertionError(program + " did not start: " + cmd + "\n" + String.join("\n", err), e);
            }
        }

        private static void pump(java.io.InputStream in, List<String> lines, CompletableFuture<Integer> port) {
            Thread t = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                    String l;
                    while ((l = r.readLine()) != null) {
                        if (lines != null) lines.add(l);
                        if (port != null) {
                            Matcher m = LISTENING.matcher(l);
                            if (m.find()) port.complete(Integer.parseInt(m.group(1)));
                        }
                    }
                } catch (IOException ignored) {
                    // ended
                }
                if (port != null) port.completeExceptionally(new IOException("stdout closed"));
            });
            t.setDaemon(true);
            t.start();
        }

        String stderrText() {
            return String.join("\n", stderr);
        }

        String awaitLine(String fragment) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (System.nanoTime() < deadline) {
                for (String l : stderr) if (l.contains(fragment)) return l;
                Thread.sleep(20);
            }
            fail("no line with '" + fragment + "' within 30 s:\n" + stderrText());
            return null;
        }

        long[] stopAndReadSummary() throws Exception {
            process.toHandle().destroy();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                String dump = ThreadDumps.of(process, stdout);
                process.destroyForcibly();
                fail("did not stop on SIGTERM\n" + stderrText() + "\n" + dump);
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (System.nanoTime() < deadline) {
                for (String l : stderr) {
                    Matcher m = SUMMARY.matcher(l);
                    if (m.find()) return new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2))};
                }
                Thread.sleep(20);
            }
            fail("no summary line\n" + stderrText());
            return null;
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
