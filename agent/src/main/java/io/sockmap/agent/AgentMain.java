package io.sockmap.agent;

import io.sockmap.agent.jmx.SpliceAgent;
import io.sockmap.engine.EngineStats;
import io.sockmap.engine.FallbackReason;
import io.sockmap.engine.SpliceEngine;

import java.io.File;
import java.lang.instrument.Instrumentation;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URL;
import java.security.CodeSource;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;

/**
 * Starts the agent inside the agent's own class loader. Called reflectively by
 * {@code io.sockmap.agent.boot.AgentBoot} as {@code start(agentArgs, inst, premain)}.
 *
 * <p>Steps: parse {@link AgentConfig} (warnings logged), stop if disabled, open {@code java.base}
 * packages to the agent, open the {@link SpliceEngine}, call
 * {@code io.sockmap.instrument.Instrumenter.install(inst, config, engineOrNull, log)} reflectively
 * if that class is in the build, register the JMX MBean, register a shutdown hook (summary line,
 * engine close), and print one start-up line:
 * {@code sockmap-agent <version> on Linux <release> (JDK <version>): <mode>}.
 *
 * <p>Never throws: any failure is one log line and the application runs unaccelerated, except with
 * {@code sockmap.failHard=true} at JVM start (premain), where a failure to enable splicing prints
 * an ERROR line and exits the JVM with status 1 before the application starts: the user asked for
 * "accelerated or not at all". On a dynamic attach the application is already serving, so
 * {@code failHard} only turns the line into an ERROR and the agent stays off.
 */
public final class AgentMain {
    public static final String INSTRUMENTER_CLASS = "io.sockmap.instrument.Instrumenter";
    /** {@code java.base} packages opened to the agent, so the engine can read socket fds by reflection. */
    public static final List<String> OPENED_PACKAGES =
            List.of("java.net", "java.io", "java.nio.channels", "java.nio.channels.spi", "sun.nio.ch");
    static final String BOOTSTRAP_PACKAGE_PATH = "io/sockmap/bootstrap/";

    private AgentMain() {}

    public static void start(String agentArgs, Instrumentation inst, boolean premain) {
        AgentLog log = AgentLog.global();
        AgentConfig config = null;
        try {
            AgentConfig.Parsed parsed = AgentConfig.parse(AgentConfig.systemProperties(), agentArgs);
            config = parsed.config();
            log = AgentLog.toStderr(config.logLevel());
            AgentLog.setGlobal(log);
            for (String w : parsed.warnings()) log.warn(w);
            run(config, inst, premain, log);
        } catch (Throwable t) {
            String message = "sockmap-agent failed to start; the application runs without it";
            if (config != null && config.failHard()) {
                fatal(premain, log, message + ": " + AgentLog.describe(t));
            } else {
                log.error(message, t);
            }
        }
    }

    private static void run(AgentConfig config, Instrumentation inst, boolean premain, AgentLog log) {
        String header = header();
        log.debug("settings: " + config);
        if (!config.enabled()) {
            log.info(header + ": off: disabled by sockmap.enabled=false");
            return;
        }
        String os = System.getProperty("os.name", "");
        if (!os.toLowerCase(Locale.ROOT).startsWith("linux")) {
            offOrFatal(config, premain, log, header, "sockmap needs Linux (this is " + os + ")");
            return;
        }

        try {
            openJavaBase(inst, log);
        } catch (Throwable t) {
            log.warn("could not open java.base to the agent", t);
        }

        SpliceEngine engine = null;
        String offReason = null;
        try {
            engine = SpliceEngine.open(config.engineConfig());
        } catch (SpliceEngine.EngineUnavailableException e) {
            offReason = e.getMessage() + " (caps: " + Capabilities.describeSelf() + ")";
            if (e.getCause() != null) log.debug("engine unavailable", e.getCause());
        } catch (Throwable t) { // e.g. UnsatisfiedLinkError from JNA
            offReason = "the splice engine failed to start: " + AgentLog.describe(t);
            log.debug("engine failure", t);
        }
        if (offReason != null && config.failHard() && premain) {
            fatal(true, log, header + ": off: " + offReason);
        }

        String instrumentFailure = installInstrumentation(inst, config, engine, log);
        if (instrumentFailure != null && engine != null) {
            closeQuietly(engine, log);
            engine = null;
            offReason = instrumentFailure;
            if (config.failHard() && premain) fatal(true, log, header + ": off: " + offReason);
        } else if (instrumentFailure != null) {
            log.warn(instrumentFailure);
        }

        final SpliceEngine liveEngine = engine;
        final String mode = engine != null ? "splicing" : "off";
        final String reason = offReason == null ? "" : offReason;
        try {
            SpliceAgent.registerPlatform(new SpliceAgent(
                    liveEngine == null ? null : () -> stats(liveEngine), () -> mode, () -> reason, version(), config.toString(),
                    liveEngine == null ? null : liveEngine::mapEntries));
        } catch (Throwable t) {
            log.warn("JMX MBean " + SpliceAgent.OBJECT_NAME + " not registered", t);
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> shutdown(liveEngine, log), "sockmap-shutdown"));

        if (liveEngine != null) {
            String guardOff = liveEngine.sequenceGuardOff();
            log.info(header + ": splicing enabled (caps: " + Capabilities.describeSelf()
                    + ", maps: " + config.maxPairs() + " pairs, sequence guard: "
                    + (guardOff == null ? "on" : "off") + ")");
            if (guardOff != null) {
                log.warn("sequence guard off (" + guardOff + "): a TCP retransmission that overlaps bytes already"
                        + " received can reach the peer twice; give the process CAP_PERFMON to load it");
            }
        } else if (config.failHard()) {
            log.error(header + ": off: " + offReason + " (sockmap.failHard=true is not applied on dynamic attach)");
        } else {
            log.info(header + ": off: " + offReason);
        }
        if (premain) collectStartGarbage(log);
    }

    /**
     * One collection before {@code main}: the agent's start allocates about 58 MB (Byte Buddy's
     * transformation most of it) that is garbage once it returns. Left in the heap, it made G1
     * size the young generation for an allocation rate the application does not have, and a relay
     * that allocates a direct buffer per connection (freed only by a collection) then grew its
     * native memory between rarer collections, page fault after page fault: 0.68-0.74x of its
     * short connections per second without the agent, on this VM. A test agent that only
     * allocates 58 MB at start reproduced it (2,264-2,665 against 2,970-3,557 connections/s);
     * with one {@code System.gc()} after it, 4,148-4,210. Not on a dynamic attach (the
     * application is running; its pauses are its own). {@code -XX:+DisableExplicitGC} turns it
     * off; {@code -XX:+ExplicitGCInvokesConcurrent} makes it concurrent.
     */
    private static void collectStartGarbage(AgentLog log) {
        long start = System.nanoTime();
        try {
            System.gc();
        } catch (Throwable t) {
            return;
        }
        log.debug("collected the agent's start-up garbage in " + (System.nanoTime() - start) / 100_000 / 10.0 + " ms");
    }

    private static void offOrFatal(AgentConfig config, boolean premain, AgentLog log, String header, String reason) {
        if (config.failHard() && premain) fatal(true, log, header + ": off: " + reason);
        log.info(header + ": off: " + reason);
    }

    /**
     * failHard: ERROR line, then {@code System.exit(1)} at JVM start; on attach only the ERROR line.
     */
    private static void fatal(boolean premain, AgentLog log, String message) {
        if (!premain) {
            log.error(message + " (sockmap.failHard=true is not applied on dynamic attach)");
            return;
        }
        log.error(message + "; exiting because sockmap.failHard=true");
        System.exit(1);
    }

    /** Null if installed, else why not. */
    private static String installInstrumentation(Instrumentation inst, AgentConfig config, SpliceEngine engine,
                                                 AgentLog log) {
        Class<?> instrumenter;
        try {
            instrumenter = Class.forName(INSTRUMENTER_CLASS, true, AgentMain.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            return "instrumentation is not in this build (" + INSTRUMENTER_CLASS + " not found)";
        }
        try {
            Method install = instrumenter.getMethod("install",
                    Instrumentation.class, AgentConfig.class, SpliceEngine.class, AgentLog.class);
            install.invoke(null, inst, config, engine, log);
            return null;
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            log.debug("instrumentation failure", cause);
            // Instrumenter's contract: IllegalStateException carries a one-line reason
            if (cause instanceof IllegalStateException && cause.getMessage() != null) return cause.getMessage();
            return "installing the instrumentation failed: " + AgentLog.describe(cause);
        } catch (ReflectiveOperationException | LinkageError e) {
            return "installing the instrumentation failed: " + AgentLog.describe(e);
        }
    }

    /**
     * Opens {@link #OPENED_PACKAGES} of {@code java.base} to the agent's unnamed module and to the
     * bootstrap loader's unnamed module (where {@code io.sockmap.bootstrap} lives), and makes
     * {@code java.base} read the latter so instrumented JDK classes can call the bridge.
     */
    static void openJavaBase(Instrumentation inst, AgentLog log) {
        Module javaBase = Object.class.getModule();
        if (!inst.isModifiableModule(javaBase)) {
            log.warn("java.base is not modifiable; the engine may not reach socket file descriptors");
            return;
        }
        Set<Module> targets = new LinkedHashSet<>();
        targets.add(AgentMain.class.getModule());
        Module bootstrapUnnamed = bootstrapUnnamedModule(log);
        if (bootstrapUnnamed != null) targets.add(bootstrapUnnamed);
        Map<String, Set<Module>> opens = new LinkedHashMap<>();
        for (String pkg : OPENED_PACKAGES) {
            if (javaBase.getPackages().contains(pkg)) opens.put(pkg, targets);
        }
        Set<Module> reads = bootstrapUnnamed == null ? Set.of() : Set.of(bootstrapUnnamed);
        inst.redefineModule(javaBase, reads, Map.of(), opens, Set.of(), Map.of());
        log.debug("opened java.base/" + String.join(",", opens.keySet()) + " to the agent's unnamed module"
                + (bootstrapUnnamed == null ? "" : " and the bootstrap loader's (bridge classes), which java.base now reads"));
    }

    /** The bootstrap loader's unnamed module, found through a bridge class; null if none was injected. */
    private static Module bootstrapUnnamedModule(AgentLog log) {
        for (String name : bootstrapClassNames()) {
            try {
                Class<?> c = Class.forName(name, false, null);
                if (c.getClassLoader() == null) return c.getModule();
            } catch (ClassNotFoundException | LinkageError e) {
                log.debug("bridge class " + name + " is not in the bootstrap class loader: " + e);
            }
        }
        return null;
    }

    /** Top-level {@code io/sockmap/bootstrap/**.class} entries of the agent jar (none outside a jar). */
    static List<String> bootstrapClassNames() {
        List<String> names = new ArrayList<>();
        try {
            CodeSource cs = AgentMain.class.getProtectionDomain().getCodeSource();
            URL location = cs == null ? null : cs.getLocation();
            if (location == null || !"file".equals(location.getProtocol())) return names;
            File file = new File(location.toURI());
            if (!file.isFile()) return names;
            try (JarFile jar = new JarFile(file, false)) {
                for (Enumeration<JarEntry> e = jar.entries(); e.hasMoreElements(); ) {
                    String n = e.nextElement().getName();
                    if (n.startsWith(BOOTSTRAP_PACKAGE_PATH) && n.endsWith(".class") && !n.endsWith("package-info.class")) {
                        names.add(n.substring(0, n.length() - ".class".length()).replace('/', '.'));
                    }
                }
            }
        } catch (Exception e) {
            // no bridge classes found: nothing to open for them
        }
        return names;
    }

    private static void shutdown(SpliceEngine engine, AgentLog log) {
        try {
            // the summary first: closing waits for live directions to drain (bounded), and an
            // application's own shutdown hooks may run meanwhile
            EngineStats now = stats(engine);
            String line = summary(now != null ? now : SpliceAgent.zeroStats());
            long overlap = engine == null ? 0 : engine.overlapBytesRemoved();
            log.info(overlap > 0 ? line + ", repeated bytes removed " + overlap : line);
            if (engine != null) closeWithin(engine, log, SHUTDOWN_CLOSE_MILLIS);
        } catch (Throwable t) {
            log.warn("shutdown summary failed", t);
        }
    }

    /** The engine's stats with the pairs the agent spliced direction by direction added to its pair counts. */
    private static EngineStats stats(SpliceEngine engine) {
        if (engine == null) return SpliceAgent.zeroStats();
        try {
            return withAgentPairs(engine.stats(), agentPairCounts());
        } catch (RuntimeException e) {
            return null;
        }
    }

    /**
     * {@code s} with {@code pairs = {spliced, active}} added to its pair counts: the engine counts
     * only pairs spliced with both directions at once; the agent splices one direction at a time
     * and counts a socket pair once its first direction is in the kernel.
     */
    static EngineStats withAgentPairs(EngineStats s, long[] pairs) {
        return new EngineStats(s.pairsSpliced() + pairs[0], s.pairsActive() + pairs[1], s.directionsSpliced(),
                s.directionsActive(), s.kernelBytesAToB(), s.kernelBytesBToA(), s.userspaceBytesAToB(),
                s.userspaceBytesBToA(), s.pauses(), s.aborts(), s.fallbacks());
    }

    /** {@code Instrumenter.pairCounts()}, or zeros if the instrumentation is not in this build. */
    private static long[] agentPairCounts() {
        try {
            Class<?> instrumenter = Class.forName(INSTRUMENTER_CLASS, true, AgentMain.class.getClassLoader());
            long[] counts = (long[]) instrumenter.getMethod("pairCounts").invoke(null);
            return counts != null && counts.length == 2 ? counts : new long[2];
        } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
            return new long[2];
        }
    }

    /** How long the shutdown hook waits for the engine to drain and close before the JVM exits anyway. */
    static final long SHUTDOWN_CLOSE_MILLIS = 15_000;

    /**
     * Closes the engine from a helper thread and waits at most {@code millis}: a JVM must never
     * hang on its way out because of the agent. If the close does not finish, the stacks of the
     * agent's threads are logged (what it was waiting for) and the JVM goes on exiting; the
     * kernel then closes the sockets with the process.
     */
    private static void closeWithin(SpliceEngine engine, AgentLog log, long millis) {
        Thread closer = new Thread(() -> closeQuietly(engine, log), "sockmap-close");
        closer.setDaemon(true);
        closer.start();
        try {
            closer.join(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!closer.isAlive()) return;
        StringBuilder stacks = new StringBuilder();
        for (Map.Entry<Thread, StackTraceElement[]> t : Thread.getAllStackTraces().entrySet()) {
            if (!t.getKey().getName().startsWith("sockmap-")) continue;
            stacks.append("\n\"").append(t.getKey().getName()).append("\" ").append(t.getKey().getState());
            for (StackTraceElement e : t.getValue()) stacks.append("\n    at ").append(e);
        }
        log.warn("closing the splice engine did not finish within " + millis + " ms; exiting without it" + stacks);
    }

    private static void closeQuietly(SpliceEngine engine, AgentLog log) {
        try {
            engine.close();
        } catch (Throwable t) {
            log.warn("closing the splice engine failed", t);
        }
    }

    /**
     * {@code summary: pairs spliced N, kernel bytes c->s X / s->c Y, userspace bytes Z,
     * fallbacks {REASON=n, ...}, aborts A} (fallbacks: non-zero reasons only).
     */
    public static String summary(EngineStats s) {
        StringBuilder fallbacks = new StringBuilder("{");
        for (FallbackReason r : FallbackReason.values()) {
            Long n = s.fallbacks() == null ? null : s.fallbacks().get(r);
            if (n == null || n == 0) continue;
            if (fallbacks.length() > 1) fallbacks.append(", ");
            fallbacks.append(r.name()).append('=').append(n);
        }
        fallbacks.append('}');
        return "summary: pairs spliced " + s.pairsSpliced()
                + ", kernel bytes c->s " + s.kernelBytesAToB() + " / s->c " + s.kernelBytesBToA()
                + ", userspace bytes " + (s.userspaceBytesAToB() + s.userspaceBytesBToA())
                + ", fallbacks " + fallbacks
                + ", aborts " + s.aborts();
    }

    /** {@code sockmap-agent <version> on Linux <release> (JDK <version>)}. */
    static String header() {
        String os = System.getProperty("os.name", "unknown OS");
        return "sockmap-agent " + version() + " on " + os + ' ' + System.getProperty("os.version", "?")
                + " (JDK " + System.getProperty("java.version", "?") + ')';
    }

    /** The agent jar's Implementation-Version, or {@code dev} outside the jar. */
    public static String version() {
        Package p = AgentMain.class.getPackage();
        String v = p == null ? null : p.getImplementationVersion();
        return v == null ? "dev" : v;
    }
}
