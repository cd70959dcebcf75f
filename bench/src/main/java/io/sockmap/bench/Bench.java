package io.sockmap.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import io.sockmap.bench.report.Chart;
import io.sockmap.bench.report.MarkdownReport;
import io.sockmap.bench.report.Measurement;
import io.sockmap.bench.report.MeasurementCsv;
import io.sockmap.bench.report.Summary;
import io.sockmap.bench.report.TableSpec;
import io.sockmap.examples.LoadClient;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The benchmark command (run by {@code scripts/bench.sh}, which installs what is missing, builds,
 * raises the limits and starts this with JDK 25 when there is one).
 */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Benchmarks direct connections, the example proxies without and with the agent, and HAProxy",
                "(with and without splice), interleaved; writes results.md, results.csv and chart.png."})
public final class Bench implements Callable<Integer> {

    @Option(names = "--quick", description = "Validation run (~2 min): 1 repetition, 1 s per load, 1,000 instead of 10,000 connections.")
    boolean quick;

    @Option(names = "--sweep-min-bytes", paramLabel = "SIZES", split = ",",
            description = "Instead of the main benchmark: ThreadPairProxy without the agent and with sockmap.minBytes=each "
                    + "of SIZES (e.g. 16k,64k,256k,1m,4m) on short connections, 100 request/response connections and "
                    + "connections exchanging 64k..16m.")
    List<String> sweep;

    @Option(names = "--repetitions", description = "Repetitions per (load, configuration); default 3 (quick: 1).")
    Integer repetitions;

    @Option(names = "--seconds", description = "Length of each bulk / request-response / short run; default 3 (quick: 1).")
    Double seconds;

    @Option(names = "--connections", description = "Connections of the large request/response run; default 10000 (quick: 1000).")
    Integer connections;

    @Option(names = "--subjects", description = "Only configurations whose name matches this regex (direct is always kept).")
    String subjects;

    @Option(names = "--workloads", split = ",", description = "Only these loads (ids: bulk-1, bulk-8, rr-100, rr-10000, short-1k, upload-...).")
    List<String> workloads;

    @Option(names = "--proxy", paramLabel = "NAME=JVM_ARGS",
            description = {"Also benchmark this Java proxy, without and with the agent (repeatable). JVM_ARGS: what follows "
                    + "'java', split at spaces, with {port} (a free port the harness picked, for the proxy to listen on), "
                    + "{target} (127.0.0.1:PORT of the backend) or {targetHost} and {targetPort}. Without {port} the proxy "
                    + "must print 'listening on <port>'. Runs on --java. Example: "
                    + "--proxy 'MyProxy=-Xmx1g -cp my.jar com.example.Relay {port} {targetHost} {targetPort}' --subjects MyProxy"})
    List<String> extraProxies;

    @Option(names = "--agent-options", paramLabel = "OPTIONS",
            description = "Options of every '+agent' configuration, as in -javaagent:JAR=OPTIONS (e.g. minBytes=64k,ports=9000).")
    String agentOptions = "";

    @Option(names = "--no-haproxy", description = "Leave HAProxy out.")
    boolean noHaproxy;

    @Option(names = "--out", description = "Results directory; default bench-results/<UTC time>.")
    Path out;

    @Option(names = "--report-only", paramLabel = "DIR", description = "Only render DIR/results.csv again (results.md, chart.png).")
    Path reportOnly;

    @Option(names = "--java", description = "JVM for the JDK 17 proxies; default: java on the PATH.")
    String java = "java";

    @Option(names = "--java21", description = "JVM for proxies that need JDK 21+; default: this JVM if it is 21+, "
            + "else /usr/lib/jvm/temurin-25-jdk-amd64/bin/java if present.")
    String java21;

    @Option(names = "--examples-jar", description = "Default: examples/target/sockmap-examples.jar.")
    Path examplesJar = Path.of("examples/target/sockmap-examples.jar");

    @Option(names = "--agent-jar", description = "Default: agent/target/sockmap-agent.jar.")
    Path agentJar = Path.of("agent/target/sockmap-agent.jar");

    @Option(names = "--haproxy", description = "Default: /usr/sbin/haproxy.")
    String haproxy = "/usr/sbin/haproxy";

    private final PrintStream log = System.out;
    private final List<ProxyTable.JavaProxy> givenProxies = new ArrayList<>();
    private String limitNote;

    public static void main(String[] args) {
        // Ctrl-C: stop the proxies and backends this run started (its own children only)
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            List<ProcessHandle> children = ProcessHandle.current().children().toList();
            children.forEach(ProcessHandle::destroy);
            for (ProcessHandle c : children) {
                try {
                    c.onExit().get(5, TimeUnit.SECONDS);
                } catch (Exception e) {
                    c.destroyForcibly();
                }
            }
        }, "bench-cleanup"));
        System.exit(new CommandLine(new Bench()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        if (reportOnly != null) {
            List<Measurement> ms = MeasurementCsv.parse(Files.readAllLines(reportOnly.resolve("results.csv")));
            String header = Files.exists(reportOnly.resolve("environment.md"))
                    ? Files.readString(reportOnly.resolve("environment.md")) : "";
            writeReport(reportOnly, header, ms, specsFor(ms), List.of());
            log.println(Files.readString(reportOnly.resolve("results.md")));
            return 0;
        }
        for (String spec : extraProxies != null ? extraProxies : List.<String>of()) {
            try {
                givenProxies.add(ProxyTable.parse(spec));
            } catch (IllegalArgumentException e) {
                System.err.println("bench: " + e.getMessage());
                return 2;
            }
        }
        Plan plan = quick ? Plan.quick() : Plan.full();
        long fileLimit = ProcFs.openFileLimit();
        int fit = ProcFs.connectionsWithin(fileLimit, connections != null ? connections : plan.manyConnections());
        if (fit < (connections != null ? connections : plan.manyConnections())) {
            log.println("== bench: the open-file limit is " + fileLimit + " (ulimit -n; raising it needs CAP_SYS_RESOURCE):"
                    + " a proxy holds 2 per connection, so the large request/response run uses " + fit + " connections");
            connections = fit;
            limitNote = "open-file limit " + fileLimit + " (not raisable here): the large request/response run used "
                    + fit + " connections instead of " + plan.manyConnections();
        }
        if (repetitions != null || seconds != null || connections != null) {
            double s = seconds != null ? seconds : plan.bulkSeconds();
            plan = new Plan(repetitions != null ? repetitions : plan.repetitions(), s, s,
                    Math.min(plan.rrWarmupSeconds(), s), connections != null ? connections : plan.manyConnections(), s,
                    plan.shortConcurrency());
        }
        Path dir = out != null ? out
                : Path.of("bench-results", DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").format(ZonedDateTime.now(ZoneOffset.UTC)));
        Files.createDirectories(dir);
        Env env = new Env(java, java21(), ProcessHandle.current().info().command().orElse("java"), examplesJar,
                agentJar, Files.isExecutable(Path.of(haproxy)) ? haproxy : null, which("strace"), dir.resolve("logs"));
        Files.createDirectories(env.logDir());
        if (!Files.exists(examplesJar) || !Files.exists(agentJar)) {
            log.println("bench: " + examplesJar + " or " + agentJar + " is missing: build first (scripts/bench.sh does)");
            return 2;
        }
        String loadBefore = Files.readString(Path.of("/proc/loadavg")).trim();
        List<Workload> loads;
        try {
            loads = filterWorkloads(sweep != null ? Workload.sweep(plan) : Workload.main(plan), workloads,
                    plan.manyConnections());
        } catch (IllegalArgumentException e) {
            System.err.println("bench: " + e.getMessage());
            return 2;
        }
        log.printf(Locale.ROOT, "== bench: %s, results in %s%n", sweep != null ? "sockmap.minBytes sweep " + sweep
                : quick ? "quick" : "full", dir);

        List<Launched> backends = new ArrayList<>();
        List<Subject> started = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        List<Measurement> results;
        try {
            Map<BackendKind, InetSocketAddress> backendAddresses = new EnumMap<>(BackendKind.class);
            for (BackendKind kind : loads.stream().map(Workload::backend).distinct().sorted().toList()) {
                List<String> args = switch (kind) {
                    case SINK -> List.of("--mode", "sink", "--no-hash", "--buffer", "256K");
                    case REQRESP -> List.of();   // ReqRespServer: NIO, see startBackend
                    case ECHO -> List.of("--mode", "echo", "--buffer", "64K");
                };
                Launched b = startBackend(env, "backend-" + kind.name().toLowerCase(Locale.ROOT), args);
                backends.add(b);
                backendAddresses.put(kind, new InetSocketAddress("127.0.0.1", b.port));
                log.println("== backend " + kind.name().toLowerCase(Locale.ROOT) + " on :" + b.port + " (" + env.benchJava() + ")");
            }

            if (limitNote != null) {
                notes.add(limitNote);
            }
            startSubjects(env, backendAddresses, started, notes, plan.manyConnections() + 200);
            for (Subject s : started) {
                if (s instanceof HaproxySubject) {
                    // the check moves bulk through HAProxy to the sink: only when a bulk load runs
                    String check = backendAddresses.containsKey(BackendKind.SINK) ? SpliceCheck.run(env, s)
                            : s.name() + ": not checked (no bulk load in this run)";
                    notes.add("strace check: " + check);
                    log.println("== " + check);
                }
            }
            warmUp(started, backendAddresses.keySet(), quick ? 0.5 : 1);
            String header = environment(env, plan, loadBefore);
            Files.writeString(dir.resolve("environment.md"), header);
            results = new Runner(started, loads, plan.repetitions(), dir.resolve("results.csv"), log).run();
            String loadAfter = Files.readString(Path.of("/proc/loadavg")).trim();
            header += "- /proc/loadavg after: `" + loadAfter + "`\n";
            Files.writeString(dir.resolve("environment.md"), header);
            for (Subject s : started) {
                s.close();
                notes.addAll(s.notes());
            }
            started.clear();
            writeReport(dir, header, results, specsOf(loads), notes);
        } finally {
            for (Subject s : started) {
                s.close();
            }
            for (Launched b : backends) {
                b.close();
            }
        }
        log.println();
        log.println(Files.readString(dir.resolve("results.md")));
        log.println("== written: " + dir.resolve("results.md") + ", " + dir.resolve("results.csv") + ", "
                + dir.resolve("chart.png") + " (process logs in " + env.logDir() + ")");
        return results.stream().allMatch(Measurement::ok) ? 0 : 1;
    }

    /**
     * The request/response backend is the harness's own {@link ReqRespServer} (a few selector
     * threads: 10,000 direct connections must not measure a scheduler of 10,000 threads); the
     * others are the examples' {@code Backend}.
     */
    private Launched startBackend(Env env, String name, List<String> args) throws IOException, InterruptedException {
        String self = Path.of(Bench.class.getProtectionDomain().getCodeSource().getLocation().getPath()).toString();
        List<String> cmd = name.endsWith("reqresp")
                ? new ArrayList<>(List.of(env.benchJava(), "-cp", self, ReqRespServer.class.getName(), "--listen", "0",
                        "--size", "1024"))
                : new ArrayList<>(List.of(env.benchJava(), "-cp", examplesJar.toString(),
                        "io.sockmap.examples.Backend", "--listen", "0"));
        cmd.addAll(args);
        return Launched.javaServer(name, cmd, env.logDir());
    }

    private void startSubjects(Env env, Map<BackendKind, InetSocketAddress> backends, List<Subject> started,
                               List<String> notes, int maxconn) throws IOException, InterruptedException {
        started.add(new DirectSubject(backends));
        Pattern only = subjects == null ? null : Pattern.compile(subjects);
        List<Object[]> wanted = new ArrayList<>();   // {name, proxy, agentOptions}
        if (sweep != null) {
            ProxyTable.JavaProxy tp = ProxyTable.JAVA_PROXIES.get(0);
            wanted.add(new Object[] {tp.name(), tp, null});
            for (String size : sweep) {
                wanted.add(new Object[] {tp.name() + "+agent(minBytes=" + size + ")", tp, "minBytes=" + size});
            }
        } else {
            List<ProxyTable.JavaProxy> proxies = new ArrayList<>(ProxyTable.JAVA_PROXIES);
            proxies.addAll(givenProxies);
            for (ProxyTable.JavaProxy p : proxies) {
                wanted.add(new Object[] {p.name(), p, null});
                wanted.add(new Object[] {p.name() + "+agent", p, agentOptions});
            }
        }
        for (Object[] w : wanted) {
            String name = (String) w[0];
            if (only != null && !only.matcher(name).find()) {
                continue;
            }
            ProxyTable.JavaProxy p = (ProxyTable.JavaProxy) w[1];
            try {
                started.add(JavaProxySubject.start(env, p, (String) w[2], name, backends));
                log.println("== started " + name);
            } catch (IOException e) {
                notes.add("not run: " + name + ": " + e.getMessage());
                log.println("== NOT RUN " + name + ": " + e.getMessage());
            }
        }
        if (sweep == null && !noHaproxy) {
            for (boolean splice : new boolean[] {false, true}) {
                String name = splice ? "haproxy-splice" : "haproxy";
                if (only != null && !only.matcher(name).find()) {
                    continue;
                }
                if (env.haproxy() == null) {
                    notes.add("not run: " + name + ": no " + haproxy);
                    continue;
                }
                long limit = ProcFs.openFileLimit();
                int maxpipes = (int) Math.max(64, Math.min(maxconn / 4, (limit - 2L * maxconn - 200) / 2));
                started.add(HaproxySubject.start(env, name, splice, backends, maxconn, maxpipes));
                log.println("== started " + name);
            }
        }
    }

    /** A short bulk and request/response run through every subject, so JITs and caches are warm. */
    private void warmUp(List<Subject> subjects, java.util.Set<BackendKind> kinds, double secs)
            throws IOException, InterruptedException {
        log.println("== warm-up: " + secs + " s per backend and configuration");
        for (Subject s : subjects) {
            for (BackendKind kind : kinds) {
                String target = Workload.hostPort(s.endpoint(kind));
                switch (kind) {
                    case SINK -> LoadClient.run("--target", target, "--mode", "bulk", "--backend", "sink",
                            "--streams", "2", "--duration", Double.toString(secs), "--no-verify");
                    case REQRESP -> LoadClient.run("--target", target, "--mode", "rr", "--connections", "16",
                            "--duration", Double.toString(secs));
                    case ECHO -> LoadClient.run("--target", target, "--mode", "bulk", "--backend", "echo",
                            "--streams", "2", "--duration", Double.toString(secs), "--no-verify");
                }
            }
        }
    }

    /**
     * The loads named by {@code --workloads}; {@code rr-10000} names the large request/response
     * run whatever its connection count (9,500 where the fd limit caps it).
     *
     * @throws IllegalArgumentException naming an id that matches no load of this run
     */
    static List<Workload> filterWorkloads(List<Workload> all, List<String> ids, int manyConnections) {
        if (ids == null) {
            return all;
        }
        List<Workload> out = new ArrayList<>();
        for (String id : ids) {
            String wanted = id.equals("rr-10000") ? "rr-" + manyConnections : id;
            Workload found = all.stream().filter(w -> w.id().equals(wanted)).findFirst().orElse(null);
            if (found == null) {
                throw new IllegalArgumentException("--workloads: no load '" + id + "' in this run; the ids are "
                        + String.join(", ", all.stream().map(Workload::id).toList()));
            }
            if (!out.contains(found)) {
                out.add(found);
            }
        }
        out.sort(Comparator.comparingInt(all::indexOf));
        return out;
    }

    private static List<TableSpec> specsOf(List<Workload> loads) {
        List<TableSpec> specs = new ArrayList<>();
        for (Workload w : loads) {
            specs.add(w.table());
        }
        return specs;
    }

    /** The table layouts for measurements read back from a CSV: those of every known workload id. */
    private static List<TableSpec> specsFor(List<Measurement> ms) {
        List<TableSpec> specs = new ArrayList<>();
        Plan p = Plan.full();
        List<Workload> known = new ArrayList<>(Workload.main(p));
        known.addAll(Workload.sweep(p));
        for (String id : Summary.of(ms).workloads()) {
            TableSpec spec = null;
            for (Workload w : known) {
                if (w.id().equals(id)) {
                    spec = w.table();
                }
            }
            if (spec == null && id.startsWith("rr-")) {
                spec = Workload.rr(Integer.parseInt(id.substring(3)), p).table();
            }
            if (spec != null) {
                specs.add(spec);
            }
        }
        return specs;
    }

    private static void writeReport(Path dir, String header, List<Measurement> ms, List<TableSpec> specs,
                                    List<String> notes) throws IOException {
        Summary summary = Summary.of(ms);
        StringBuilder md = new StringBuilder(header).append('\n');
        md.append(MarkdownReport.render(summary, specs));
        if (!notes.isEmpty()) {
            md.append("### Notes\n\n");
            for (String n : notes) {
                md.append("- ").append(n).append('\n');
            }
            md.append('\n');
        }
        md.append("![ratios to direct](chart.png)\n");
        Files.writeString(dir.resolve("results.md"), md.toString(), StandardCharsets.UTF_8);
        try {
            Chart.write(summary, specs, "sockmap-agent benchmark: median of each load, ratio to direct", dir.resolve("chart.png"));
        } catch (RuntimeException | Error e) {   // e.g. no fonts on a headless machine
            System.err.println("bench: cannot draw chart.png: " + e);
        }
    }

    private String environment(Env env, Plan plan, String loadBefore) throws IOException, InterruptedException {
        StringBuilder b = new StringBuilder("## Run of " + DateTimeFormatter.ISO_INSTANT.format(ZonedDateTime.now(ZoneOffset.UTC)) + "\n\n");
        b.append("- command: `bash scripts/bench.sh");
        if (quick) {
            b.append(" --quick");
        }
        if (sweep != null) {
            b.append(" --sweep-min-bytes ").append(String.join(",", sweep));
        }
        if (workloads != null) {
            b.append(" --workloads ").append(String.join(",", workloads));
        }
        if (subjects != null) {
            b.append(" --subjects '").append(subjects).append("'");
        }
        for (String spec : extraProxies != null ? extraProxies : List.<String>of()) {
            b.append(" --proxy '").append(spec).append("'");
        }
        if (!agentOptions.isEmpty()) {
            b.append(" --agent-options '").append(agentOptions).append("'");
        }
        if (!agentJar.equals(Path.of("agent/target/sockmap-agent.jar"))) {
            b.append(" --agent-jar ").append(agentJar);
        }
        if (repetitions != null) {
            b.append(" --repetitions ").append(repetitions);
        }
        if (seconds != null) {
            b.append(" --seconds ").append(seconds);
        }
        if (connections != null && limitNote == null) {
            b.append(" --connections ").append(connections);
        }
        if (noHaproxy) {
            b.append(" --no-haproxy");
        }
        b.append("` (").append(plan).append(")\n");
        b.append("- kernel: `").append(Files.readString(Path.of("/proc/sys/kernel/osrelease")).trim()).append("`, ")
                .append(Runtime.getRuntime().availableProcessors()).append(" CPUs (")
                .append(cpuModel()).append(")\n");
        b.append("- proxies' JDK: `").append(firstLine(env.java(), "-version")).append("`");
        if (env.java21() != null) {
            b.append("; JDK 21+ proxies: `").append(firstLine(env.java21(), "-version")).append("`");
        }
        b.append("\n- client (in the harness JVM) and backends: `").append(System.getProperty("java.vm.name")).append(' ')
                .append(System.getProperty("java.runtime.version")).append("`\n");
        if (env.haproxy() != null) {
            b.append("- HAProxy: `").append(firstLine(env.haproxy(), "-v")).append("`\n");
        }
        b.append("- /proc/loadavg before: `").append(loadBefore).append("`\n");
        return b.toString();
    }

    private static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException e) {
            // not Linux
        }
        return "?";
    }

    private static String firstLine(String exe, String arg) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(exe, arg).redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return text.lines().findFirst().orElse("?").trim();
    }

    private String java21() {
        if (java21 != null) {
            return java21;
        }
        if (Runtime.version().feature() >= 21) {
            return ProcessHandle.current().info().command().orElse(null);
        }
        Path t = Path.of("/usr/lib/jvm/temurin-25-jdk-amd64/bin/java");
        return Files.isExecutable(t) ? t.toString() : null;
    }

    private static String which(String cmd) {
        for (String d : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            Path p = Path.of(d, cmd);
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        return null;
    }
}
