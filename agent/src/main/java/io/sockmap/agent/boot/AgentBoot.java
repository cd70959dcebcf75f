package io.sockmap.agent.boot;

import java.io.File;
import java.lang.instrument.Instrumentation;
import java.lang.reflect.InvocationTargetException;
import java.net.URL;
import java.security.CodeSource;
import java.util.jar.JarFile;

/**
 * The agent jar's {@code Premain-Class} and {@code Agent-Class}. Loaded by the application's
 * (system) class loader, since the JVM puts the agent jar on the class path; so this package must
 * stay tiny, depend on nothing but the JDK, and never let a {@code Throwable} escape.
 *
 * <ol>
 *   <li>Refuses a second start in the same JVM (two {@code -javaagent} flags, or an attach after
 *       {@code -javaagent}): the system property {@value #ATTACHED_PROPERTY} is claimed atomically;
 *       the loser prints one line and returns.</li>
 *   <li>{@link BootstrapInjector}: copies the top-level {@code io/sockmap/bootstrap/**} classes into
 *       a temporary jar appended to the bootstrap class path (then deleted).</li>
 *   <li>Creates the {@link AgentClassLoader} over {@code inst/} and calls
 *       {@code io.sockmap.agent.AgentMain.start(String, Instrumentation, boolean premain)} in it,
 *       with that loader as the thread's context class loader.</li>
 * </ol>
 */
public final class AgentBoot {
    /** Set (to {@code premain} or {@code agentmain}) by the first start in this JVM. */
    public static final String ATTACHED_PROPERTY = "sockmap.agent.attached";
    static final String AGENT_MAIN = "io.sockmap.agent.AgentMain";

    /** The isolated loader, once created; read reflectively by the packaging test. */
    static volatile ClassLoader agentClassLoader;

    private AgentBoot() {}

    public static void premain(String agentArgs, Instrumentation inst) {
        start(agentArgs, inst, true);
    }

    public static void agentmain(String agentArgs, Instrumentation inst) {
        start(agentArgs, inst, false);
    }

    private static void start(String agentArgs, Instrumentation inst, boolean premain) {
        try {
            String how = premain ? "premain" : "agentmain";
            Object previous = System.getProperties().putIfAbsent(ATTACHED_PROPERTY, how);
            if (previous != null) {
                print(agentArgs, "WARN sockmap-agent is already running in this JVM (started by " + previous
                        + "); ignoring this " + (premain ? "-javaagent" : "attach"));
                return;
            }
            File jarPath = ownJar();
            JarFile jar = new JarFile(jarPath, false);
            BootstrapInjector.inject(jar, inst);
            AgentClassLoader loader = new AgentClassLoader(jar, ClassLoader.getPlatformClassLoader());
            agentClassLoader = loader;
            Thread thread = Thread.currentThread();
            ClassLoader previousContext = thread.getContextClassLoader();
            thread.setContextClassLoader(loader);
            try {
                Class<?> main = Class.forName(AGENT_MAIN, true, loader);
                main.getMethod("start", String.class, Instrumentation.class, boolean.class)
                        .invoke(null, agentArgs, inst, premain);
            } finally {
                thread.setContextClassLoader(previousContext);
            }
        } catch (Throwable t) {
            Throwable cause = t instanceof InvocationTargetException && t.getCause() != null ? t.getCause() : t;
            try {
                print(agentArgs, "ERROR sockmap-agent failed to start; the application runs without it: " + cause);
            } catch (Throwable ignored) {
                // nothing left to do
            }
        }
    }

    private static File ownJar() throws Exception {
        CodeSource cs = AgentBoot.class.getProtectionDomain().getCodeSource();
        URL location = cs == null ? null : cs.getLocation();
        if (location == null) throw new IllegalStateException("cannot locate the agent jar");
        File file = new File(location.toURI());
        if (!file.isFile()) throw new IllegalStateException("not running from the agent jar: " + file);
        return file;
    }

    /** One {@code [sockmap] ...} line on stderr, unless {@code logLevel=off} is set. */
    private static void print(String agentArgs, String line) {
        String level = System.getProperty("sockmap.logLevel");
        if (level == null && agentArgs != null) {
            for (String s : agentArgs.split(",")) {
                String[] kv = s.split("=", 2);
                if (kv.length == 2 && kv[0].trim().replaceFirst("^sockmap\\.", "").equals("logLevel")) level = kv[1];
            }
        }
        if (level != null && level.trim().equalsIgnoreCase("off")) return;
        System.err.println("[sockmap] " + line);
    }
}
