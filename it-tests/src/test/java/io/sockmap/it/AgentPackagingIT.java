package io.sockmap.it;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.lang.reflect.Field;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.management.MBeanServer;
import javax.management.ObjectName;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The packaged agent ({@code ../agent/target/sockmap-agent.jar}) in a second JVM, as a user runs it.
 *
 * <p>Needs: the jar (build it first: {@code mvn -pl bpf,agent -am package}; this test builds
 * nothing), JDK 17 ({@code -Dsockmap.it.jdk17}, default this JVM if it is 17, else
 * {@code /usr/lib/jvm/java-17-openjdk-amd64}) and JDK 25 ({@code -Dsockmap.it.jdk25}, default
 * {@code /usr/lib/jvm/temurin-25-jdk-amd64}), {@code setpriv} (util-linux) for the unprivileged
 * runs, and {@code target/probe-app-lib/slf4j-api-1.7.36.jar} (copied by this module's pom). A
 * missing piece fails the test with a message; nothing is skipped.
 *
 * <p>The child runs {@link Probe} with {@code -cp target/test-classes:slf4j-api-1.7.36.jar}: an
 * application with its own, different SLF4J. It prints {@code probe: ...} facts that are checked
 * here. Splicing itself is tested elsewhere; here the engine may be on (root) or off.
 */
class AgentPackagingIT {
    static final Pattern START_UP = Pattern.compile(
            "\\[sockmap] (INFO|ERROR) sockmap-agent (\\S+) on Linux (\\S+) \\(JDK (\\S+)\\): (.*)");
    static final Pattern SUMMARY = Pattern.compile("\\[sockmap] INFO summary: pairs spliced \\d+, kernel bytes c->s \\d+"
            + " / s->c \\d+, userspace bytes \\d+, fallbacks \\{[A-Z_=0-9, ]*}, aborts \\d+");
    static final Pattern SPLICING = Pattern.compile("splicing enabled \\(caps: [A-Z_,]+, maps: 16384 pairs, sequence guard: (on|off)\\)");
    static final String PROBE = Probe.class.getName();

    static Path work;
    static Path agentJar;
    static Path appClassPathSlf4j;
    static Path testClasses;
    static List<String> bridgeClasses;
    static boolean jarHasBpfObject;

    @TempDir
    Path tmp;

    @BeforeAll
    static void locate() throws IOException {
        Path built = Path.of("..", "agent", "target", "sockmap-agent.jar").toAbsolutePath().normalize();
        if (!Files.isRegularFile(built)) {
            fail(built + " is missing: build it first with `mvn -pl bpf,agent -am package` (this test builds nothing)");
        }
        // private copies, so a rebuild running meanwhile cannot change what the child JVMs see;
        // world-readable, for the unprivileged child
        work = Files.createTempDirectory("sockmap-packaging-it");
        Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
        agentJar = Files.copy(built, work.resolve("sockmap-agent.jar"));
        String probeFile = Probe.class.getName().replace('.', '/') + ".class";
        testClasses = work.resolve("classes");
        Path probeCopy = testClasses.resolve(probeFile);
        Files.createDirectories(probeCopy.getParent());
        try (InputStream in = Probe.class.getClassLoader().getResourceAsStream(probeFile)) {
            Files.copy(in, probeCopy);
        }
        for (Path p = probeCopy; !p.equals(work); p = p.getParent()) {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(Files.isDirectory(p) ? "rwxr-xr-x" : "rw-r--r--"));
        }
        appClassPathSlf4j = Path.of("target", "probe-app-lib", "slf4j-api-1.7.36.jar").toAbsolutePath();
        if (!Files.isRegularFile(appClassPathSlf4j)) {
            fail(appClassPathSlf4j + " is missing: it is copied by maven-dependency-plugin in it-tests/pom.xml"
                    + " (run through Maven: mvn -pl it-tests test -Dtest=AgentPackagingIT)");
        }
        bridgeClasses = new ArrayList<>();
        try (JarFile jar = new JarFile(agentJar.toFile())) {
            for (JarEntry e : Collections.list(jar.entries())) {
                String n = e.getName();
                if (n.startsWith("io/sockmap/bootstrap/") && n.endsWith(".class") && !n.endsWith("package-info.class")) {
                    bridgeClasses.add(n.substring(0, n.length() - 6).replace('/', '.'));
                }
            }
            jarHasBpfObject = jar.getJarEntry("inst/io/sockmap/bpf/splice.o") != null;
        }
    }

    @AfterAll
    static void cleanUp() throws IOException {
        if (work == null) return;
        try (Stream<Path> all = Files.walk(work)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).collect(Collectors.toList())) Files.deleteIfExists(p);
        }
    }

    // ------------------------------------------------------------------ JVMs

    static Path jdk17() {
        String configured = System.getProperty("sockmap.it.jdk17");
        if (configured != null) return requireJava(Path.of(configured));
        if (Runtime.version().feature() == 17) return requireJava(Path.of(System.getProperty("java.home")));
        return requireJava(Path.of("/usr/lib/jvm/java-17-openjdk-amd64"));
    }

    static Path jdk25() {
        return requireJava(Path.of(System.getProperty("sockmap.it.jdk25", "/usr/lib/jvm/temurin-25-jdk-amd64")));
    }

    static Path requireJava(Path home) {
        Path java = home.resolve("bin").resolve("java");
        if (!Files.isExecutable(java)) fail("no JDK at " + home + " (set -Dsockmap.it.jdk17 / -Dsockmap.it.jdk25)");
        return java;
    }

    static Stream<Path> jdks() {
        return Stream.of(jdk17(), jdk25());
    }

    record Run(int exit, List<String> out, List<String> err, Path tmpdir) {
        List<String> sockmapLines() {
            return err.stream().filter(l -> l.startsWith("[sockmap] ")).collect(Collectors.toList());
        }

        List<String> probe(String key) {
            String prefix = "probe: " + key + " ";
            return out.stream().filter(l -> l.startsWith(prefix)).map(l -> l.substring(prefix.length()))
                    .collect(Collectors.toList());
        }

        String probeOne(String key) {
            List<String> v = probe(key);
            assertEquals(1, v.size(), () -> "probe " + key + ": " + v + "\n" + this);
            return v.get(0);
        }

        Matcher startUp() {
            List<Matcher> m = err.stream().map(START_UP::matcher).filter(Matcher::matches).collect(Collectors.toList());
            assertEquals(1, m.size(), () -> "exactly one start-up line expected\n" + this);
            return m.get(0);
        }

        long count(String fragment) {
            return err.stream().filter(l -> l.contains(fragment)).count();
        }

        @Override
        public String toString() {
            return "exit " + exit + "\n--- stdout\n" + String.join("\n", out) + "\n--- stderr\n" + String.join("\n", err);
        }
    }

    /** Runs {@link Probe} in a new JVM; {@code prefix} (e.g. setpriv ...) goes before java. */
    Run run(List<String> prefix, Path java, List<String> jvmArgs, String... probeArgs) throws Exception {
        // readable by the unprivileged child (uid 65534) too
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path dir = Files.createTempDirectory(tmp, "child");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path tmpdir = Files.createDirectory(dir.resolve("tmp"));
        Files.setPosixFilePermissions(tmpdir, PosixFilePermissions.fromString("rwxrwxrwx"));
        List<String> cmd = new ArrayList<>(prefix);
        cmd.add(java.toString());
        cmd.add("-Djava.io.tmpdir=" + tmpdir);
        cmd.add("-Dprobe.agentJar=" + agentJar);
        cmd.addAll(jvmArgs);
        // the application's slf4j jar is copied beside the child: the build tree may not be
        // readable by uid 65534 (a clone in a private folder)
        Path slf4j = Files.copy(Path.of(appClassPathSlf4j.toString()), dir.resolve(Path.of(appClassPathSlf4j.toString()).getFileName()));
        Files.setPosixFilePermissions(slf4j, PosixFilePermissions.fromString("rw-r--r--"));
        cmd.add("-cp");
        cmd.add(testClasses + File.pathSeparator + slf4j);
        cmd.add(PROBE);
        Collections.addAll(cmd, probeArgs);
        Path out = dir.resolve("stdout");
        Path err = dir.resolve("stderr");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("child JVM did not finish in 120 s: " + cmd + "\n" + Files.readString(err));
        }
        Run r = new Run(p.exitValue(), Files.readAllLines(out), Files.readAllLines(err), tmpdir);
        try (Stream<Path> left = Files.list(tmpdir)) {
            List<String> ours = left.map(f -> f.getFileName().toString()).filter(n -> n.startsWith("sockmap-"))
                    .collect(Collectors.toList());
            assertEquals(List.of(), ours, () -> "temporary files left behind\n" + r);
        }
        return r;
    }

    Run run(Path java, List<String> jvmArgs, String... probeArgs) throws Exception {
        return run(List.of(), java, jvmArgs, probeArgs);
    }

    static List<String> unprivileged() {
        Path setpriv = Path.of("/usr/bin/setpriv");
        if (!Files.isExecutable(setpriv)) fail("needs " + setpriv + " (util-linux) to run a JVM without capabilities");
        return List.of(setpriv.toString(), "--reuid=65534", "--regid=65534", "--clear-groups",
                "--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all");
    }

    static String agent(String args) {
        return "-javaagent:" + agentJar + (args == null ? "" : "=" + args);
    }

    // ------------------------------------------------------------------ checks shared by the runs

    /** Start-up line, isolation, bridge classes, resources, MBean, summary. */
    static void assertIsolatedAgentRunning(Run r, String expectedJdk) {
        assertEquals(0, r.exit(), r::toString);
        assertEquals("done", r.probeOne("status"), r::toString);
        Matcher m = r.startUp();
        assertEquals("0.1.0-SNAPSHOT", m.group(2), r::toString);
        assertEquals(System.getProperty("os.version"), m.group(3));
        assertEquals(expectedJdk, m.group(4));
        String mode = m.group(5);
        assertTrue(SPLICING.matcher(mode).matches() || mode.startsWith("off: "), mode);

        // the application sees none of the agent's internals
        for (String hidden : List.of("net.bytebuddy.ByteBuddy", "io.sockmap.shaded.bytebuddy.ByteBuddy",
                "org.objectweb.asm.ClassReader", "com.sun.jna.Native", "io.sockmap.engine.SpliceEngine",
                "io.sockmap.agent.AgentMain", "io.sockmap.loader.BpfCollection", "org.slf4j.spi.SLF4JServiceProvider")) {
            assertEquals("hidden", r.probeOne("class " + hidden), hidden);
        }
        for (String res : List.of("net/bytebuddy/ByteBuddy.class", "com/sun/jna/linux-x86-64/libjnidispatch.so",
                "io/sockmap/bpf/splice.o", "io/sockmap/engine/SpliceEngine.class")) {
            assertEquals("hidden", r.probeOne("app-resource " + res), res);
        }
        // ... and its own SLF4J, not the agent's 2.x
        assertTrue(r.probeOne("slf4j").endsWith("slf4j-api-1.7.36.jar"), r::toString);

        // bridge classes are in the bootstrap loader
        for (String bridge : bridgeClasses) {
            assertEquals("bootstrap", r.probeOne("bridge " + bridge), r::toString);
        }
        // the agent's loader serves its classes and resources under their normal names
        assertEquals("sockmap-agent", r.probeOne("agent-loader"), r::toString);
        assertEquals("cafebabe", r.probeOne("agent-resource io/sockmap/agent/AgentMain.class"));
        assertEquals("found", r.probeOne("agent-resource com/sun/jna/linux-x86-64/libjnidispatch.so"));
        for (String bridge : bridgeClasses) {
            assertEquals("cafebabe", r.probeOne("agent-resource " + bridge.replace('.', '/') + ".class"), r::toString);
        }
        if (jarHasBpfObject) assertEquals("found", r.probeOne("agent-resource io/sockmap/bpf/splice.o"));

        // JMX, read by the application through the platform MBean server
        String mbeanMode = r.probeOne("mbean Mode");
        assertEquals(mode.startsWith("splicing") ? "splicing" : "off", mbeanMode);
        assertEquals(String.valueOf(mbeanMode.equals("splicing")), r.probeOne("mbean Enabled"));
        assertTrue(r.probeOne("mbean PairsSpliced").matches("\\d+"));
        assertTrue(r.probeOne("mbean KernelBytesClientToServer").matches("\\d+"));
        assertTrue(r.probeOne("mbean Fallbacks").contains("MAP_FULL="), r::toString);
        assertEquals("0.1.0-SNAPSHOT", r.probeOne("mbean Version"));

        assertEquals(1, r.err().stream().filter(l -> SUMMARY.matcher(l).matches()).count(), r::toString);
        assertEquals(0, r.count("[sockmap] ERROR"), r::toString);
    }

    static String javaVersionOf(Path java) throws Exception {
        Process p = new ProcessBuilder(java.toString(), "-XshowSettings:properties", "-version").redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        Matcher m = Pattern.compile("\\bjava\\.version = (\\S+)").matcher(text);
        assertTrue(m.find(), text);
        return m.group(1);
    }

    // ------------------------------------------------------------------ tests

    @ParameterizedTest
    @MethodSource("jdks")
    void premainStartsIsolatedAndRegistersTheMBean(Path java) throws Exception {
        Run r = run(java, List.of(agent(null)), "inspect");
        assertIsolatedAgentRunning(r, javaVersionOf(java));
    }

    @ParameterizedTest
    @MethodSource("jdks")
    void agentmainThroughTheAttachApi(Path java) throws Exception {
        Run r = run(java, List.of("-Djdk.attach.allowAttachSelf=true"), "attach", agentJar.toString(), "inspect");
        assertIsolatedAgentRunning(r, javaVersionOf(java));
        assertEquals("loaded", r.probeOne("attach"), r::toString);
    }

    @ParameterizedTest
    @MethodSource("jdks")
    void jnaLoadsItsNativeLibraryThroughTheAgentLoader(Path java) throws Exception {
        // JDK 24+ warns when JNA calls System.load unless native access is enabled (the option exists since 17)
        Run r = run(java, List.of(agent(null), "--enable-native-access=ALL-UNNAMED"), "jna");
        assertEquals(0, r.exit(), r::toString);
        assertEquals("sockmap-agent", r.probeOne("jna loader"), r::toString);
        assertEquals("8", r.probeOne("jna pointer-size"), r::toString);
        String path = r.probeOne("jna jnidispatch.path");
        assertFalse(path.startsWith("/usr/lib") || path.equals("null"), "extracted from the agent jar, not a system copy: " + path);
        // the documented JDK 24+ remedy silences the restricted-method warning
        assertEquals(0, r.count("restricted method"), r::toString);
    }

    @Test
    void agentCodeLoggingThroughSlf4jEndsUpInTheAgentLog() throws Exception {
        Run r = run(jdk17(), List.of(agent(null)), "agent-slf4j");
        assertEquals(0, r.exit(), r::toString);
        assertEquals("sockmap-agent", r.probeOne("agent-slf4j"));
        assertEquals(1, r.count("[sockmap] WARN agent slf4j works"), r::toString);
        assertEquals(0, r.err().stream().filter(l -> l.startsWith("SLF4J")).count(), "no SLF4J provider warnings: " + r);
    }

    @Test
    void withoutPrivilegesTheAgentIsOffAndTheApplicationRuns() throws Exception {
        Run r = run(unprivileged(), jdk17(), List.of(agent(null)), "inspect");
        assertIsolatedAgentRunning(r, javaVersionOf(jdk17()));
        String mode = r.startUp().group(5);
        assertTrue(mode.startsWith("off: "), mode);
        assertFalse(r.probeOne("mbean Reason").isEmpty());
    }

    @Test
    void failHardWithoutPrivilegesExitsBeforeTheApplicationStarts() throws Exception {
        Run r = run(unprivileged(), jdk17(), List.of(agent(null), "-Dsockmap.failHard=true"), "inspect");
        assertEquals(1, r.exit(), r::toString);
        assertEquals(List.of(), r.probe("status"), "the application must not have started");
        Matcher m = r.startUp();
        assertEquals("ERROR", m.group(1));
        assertTrue(m.group(5).startsWith("off: ") && m.group(5).endsWith("; exiting because sockmap.failHard=true"), m.group(5));
    }

    @Test
    void failHardWithPrivilegesStartsNormallyOrExits() throws Exception {
        Run r = run(jdk17(), List.of(agent("failHard=true")), "inspect");
        String mode = r.startUp().group(5);
        if (SPLICING.matcher(mode).matches()) {
            assertIsolatedAgentRunning(r, javaVersionOf(jdk17()));
        } else {
            assertEquals(1, r.exit(), r::toString);
        }
    }

    @Test
    void badValuesGiveOneLineEachAndTheApplicationStillRuns() throws Exception {
        Run r = run(jdk17(), List.of(agent("minBytes=lots,colour=red"), "-Dsockmap.maxPairs=abc"), "inspect");
        assertIsolatedAgentRunning(r, javaVersionOf(jdk17()));
        List<String> warnings = r.sockmapLines().stream().filter(l -> l.startsWith("[sockmap] WARN")).collect(Collectors.toList());
        assertEquals(List.of(
                "[sockmap] WARN ignoring unknown agent argument colour=\"red\": known keys are enabled, ports, skipPorts,"
                        + " addresses, skipAddresses, minBytes, maxPairs, maxInflight, drainTimeout, logLevel, failHard, nettyEpoll",
                "[sockmap] WARN ignoring agent argument minBytes=\"lots\": expected a size from 0 to 1024g: bytes with an"
                        + " optional suffix k, m or g (like 64k); using 256k",
                "[sockmap] WARN ignoring sockmap.maxPairs=\"abc\": expected an integer from 1 to 1048576; using 16384"),
                warnings, r::toString);
        assertTrue(r.probeOne("mbean Config").contains("maxPairs=16384"));
    }

    @Test
    void secondJavaagentIsRefusedWithOneLine() throws Exception {
        Run r = run(jdk17(), List.of(agent(null), agent("logLevel=debug")), "inspect");
        assertIsolatedAgentRunning(r, javaVersionOf(jdk17()));
        assertEquals(1, r.count("[sockmap] WARN sockmap-agent is already running in this JVM (started by premain);"
                + " ignoring this -javaagent"), r::toString);
        assertEquals(0, r.count("[sockmap] DEBUG"), "the refused agent's settings are not applied");
    }

    @Test
    void attachAfterJavaagentIsRefusedWithOneLine() throws Exception {
        Run r = run(jdk17(), List.of(agent(null), "-Djdk.attach.allowAttachSelf=true"), "attach", agentJar.toString(), "inspect");
        assertIsolatedAgentRunning(r, javaVersionOf(jdk17()));
        assertEquals(1, r.count("[sockmap] WARN sockmap-agent is already running in this JVM (started by premain);"
                + " ignoring this attach"), r::toString);
    }

    @Test
    void disabledPrintsOneLineAndDoesNothingElse() throws Exception {
        Run r = run(jdk17(), List.of(agent(null), "-Dsockmap.enabled=false"), "inspect");
        assertEquals(0, r.exit(), r::toString);
        assertEquals("off: disabled by sockmap.enabled=false", r.startUp().group(5));
        assertEquals(List.of(r.startUp().group(0)), r.sockmapLines(), "one line, no summary");
        assertEquals("absent", r.probeOne("mbean"));
        assertEquals("hidden", r.probeOne("class io.sockmap.engine.SpliceEngine"));
    }

    @Test
    void logLevelOffSilencesTheAgent() throws Exception {
        Run r = run(jdk17(), List.of(agent("logLevel=off"), "-Dsockmap.maxPairs=abc"), "inspect");
        assertEquals(0, r.exit(), r::toString);
        assertEquals(List.of(), r.sockmapLines(), r::toString);
        assertEquals("done", r.probeOne("status"));
    }

    // ------------------------------------------------------------------ the child application

    /**
     * The application in the child JVM. Prints {@code probe: <key> <value>} lines. Arguments:
     * {@code inspect}, {@code jna}, or {@code attach <agent jar> <then...>} (attach to itself first).
     * Uses JDK classes only (and SLF4J from its own class path).
     */
    public static final class Probe {
        public static void main(String[] args) throws Exception {
            int i = 0;
            if (args[i].equals("attach")) {
                attach(args[i + 1]);
                i += 2;
            }
            switch (args[i]) {
                case "inspect" -> inspect();
                case "jna" -> jna();
                case "agent-slf4j" -> agentSlf4j();
                default -> throw new IllegalArgumentException(args[i]);
            }
            System.out.println("probe: status done");
        }

        static void attach(String jar) throws Exception {
            com.sun.tools.attach.VirtualMachine vm =
                    com.sun.tools.attach.VirtualMachine.attach(String.valueOf(ProcessHandle.current().pid()));
            try {
                vm.loadAgent(jar, null);
                System.out.println("probe: attach loaded");
            } finally {
                vm.detach();
            }
        }

        static ClassLoader agentLoader() throws Exception {
            Field f = Class.forName("io.sockmap.agent.boot.AgentBoot").getDeclaredField("agentClassLoader");
            f.setAccessible(true);
            return (ClassLoader) f.get(null);
        }

        static void inspect() throws Exception {
            ClassLoader app = Probe.class.getClassLoader();
            for (String n : List.of("net.bytebuddy.ByteBuddy", "io.sockmap.shaded.bytebuddy.ByteBuddy",
                    "org.objectweb.asm.ClassReader", "com.sun.jna.Native", "io.sockmap.engine.SpliceEngine",
                    "io.sockmap.agent.AgentMain", "io.sockmap.loader.BpfCollection", "org.slf4j.spi.SLF4JServiceProvider")) {
                String seen;
                try {
                    Class.forName(n, false, app);
                    seen = "visible";
                } catch (ClassNotFoundException e) {
                    seen = "hidden";
                }
                System.out.println("probe: class " + n + " " + seen);
            }
            for (String res : List.of("net/bytebuddy/ByteBuddy.class", "com/sun/jna/linux-x86-64/libjnidispatch.so",
                    "io/sockmap/bpf/splice.o", "io/sockmap/engine/SpliceEngine.class")) {
                System.out.println("probe: app-resource " + res + " " + (app.getResource(res) == null ? "hidden" : "visible"));
            }
            Class<?> slf4j = Class.forName("org.slf4j.LoggerFactory", false, app);
            System.out.println("probe: slf4j " + slf4j.getProtectionDomain().getCodeSource().getLocation().getPath());

            try (JarFile jar = new JarFile(System.getProperty("probe.agentJar"))) {
                for (JarEntry e : Collections.list(jar.entries())) {
                    String n = e.getName();
                    if (!n.startsWith("io/sockmap/bootstrap/") || !n.endsWith(".class") || n.endsWith("package-info.class")) continue;
                    String name = n.substring(0, n.length() - 6).replace('/', '.');
                    String where;
                    try {
                        where = Class.forName(name, false, null).getClassLoader() == null ? "bootstrap" : "other";
                    } catch (ClassNotFoundException ex) {
                        where = "missing";
                    }
                    System.out.println("probe: bridge " + name + " " + where);
                }
            }

            ClassLoader agent = agentLoader();
            if (agent != null) {
                System.out.println("probe: agent-loader " + agent.getName());
                List<String> names = new ArrayList<>(List.of("io/sockmap/agent/AgentMain.class",
                        "com/sun/jna/linux-x86-64/libjnidispatch.so", "io/sockmap/bpf/splice.o"));
                try (JarFile jar = new JarFile(System.getProperty("probe.agentJar"))) {
                    for (JarEntry e : Collections.list(jar.entries())) {
                        String n = e.getName();
                        if (n.startsWith("io/sockmap/bootstrap/") && n.endsWith(".class") && !n.endsWith("package-info.class")) {
                            names.add(n);
                        }
                    }
                }
                for (String res : names) {
                    URL url = agent.getResource(res);
                    String what = "missing";
                    if (url != null) {
                        try (InputStream in = url.openStream()) {
                            byte[] head = in.readNBytes(4);
                            what = res.endsWith(".class") ? String.format("%02x%02x%02x%02x", head[0], head[1], head[2], head[3])
                                    : "found";
                        }
                    }
                    System.out.println("probe: agent-resource " + res + " " + what);
                }
            }

            MBeanServer server = ManagementFactory.getPlatformMBeanServer();
            ObjectName name = new ObjectName("io.sockmap:type=SpliceAgent");
            if (!server.isRegistered(name)) {
                System.out.println("probe: mbean absent");
            } else {
                for (String a : List.of("Enabled", "Mode", "Reason", "Version", "Config", "PairsSpliced", "PairsActive",
                        "KernelBytesClientToServer", "KernelBytesServerToClient", "UserspaceBytesClientToServer",
                        "Pauses", "Aborts", "Fallbacks", "FallbacksTotal")) {
                    System.out.println("probe: mbean " + a + " " + server.getAttribute(name, a));
                }
            }
        }

        static void agentSlf4j() throws Exception {
            ClassLoader agent = agentLoader();
            Class<?> factory = Class.forName("org.slf4j.LoggerFactory", true, agent);
            Object logger = factory.getMethod("getLogger", String.class).invoke(null, "probe");
            Class.forName("org.slf4j.Logger", false, agent).getMethod("warn", String.class, Object.class)
                    .invoke(logger, "agent slf4j {}", "works");
            System.out.println("probe: agent-slf4j " + factory.getClassLoader().getName());
        }

        static void jna() throws Exception {
            ClassLoader agent = agentLoader();
            Class<?> jnaNative = Class.forName("com.sun.jna.Native", true, agent);
            System.out.println("probe: jna loader " + jnaNative.getClassLoader().getName());
            System.out.println("probe: jna pointer-size " + jnaNative.getField("POINTER_SIZE").getInt(null));
            System.out.println("probe: jna jnidispatch.path " + System.getProperty("jnidispatch.path"));
        }
    }
}
