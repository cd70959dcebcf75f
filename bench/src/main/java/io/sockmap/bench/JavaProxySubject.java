package io.sockmap.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A Java proxy from the {@link ProxyTable} (an example, or one given with {@code --proxy}), with or
 * without {@code -javaagent:}, as one process per backend (a proxy has a single target).
 */
final class JavaProxySubject implements Subject {

    private final String name;
    private final Map<BackendKind, Launched> processes = new EnumMap<>(BackendKind.class);
    private final List<String> notes = new ArrayList<>();

    private JavaProxySubject(String name) {
        this.name = name;
    }

    /**
     * Starts the proxy once per backend.
     *
     * @param agentOptions null: without the agent; "": {@code -javaagent:JAR}; otherwise {@code -javaagent:JAR=OPTIONS}
     */
    static JavaProxySubject start(Env env, ProxyTable.JavaProxy proxy, String agentOptions, String name,
                                  Map<BackendKind, InetSocketAddress> backends) throws IOException, InterruptedException {
        String java = env.javaFor(proxy.minJdk());
        if (java == null) {
            throw new IOException(proxy.name() + " needs JDK " + proxy.minJdk() + "+ (none found; see --java21)");
        }
        JavaProxySubject s = new JavaProxySubject(name);
        try {
            for (Map.Entry<BackendKind, InetSocketAddress> b : backends.entrySet()) {
                List<String> cmd = new ArrayList<>(List.of(java));
                if (agentOptions != null) {
                    cmd.add("-javaagent:" + env.agentJar() + (agentOptions.isEmpty() ? "" : "=" + agentOptions));
                }
                int port = proxy.takesPort() ? freePort() : 0;
                cmd.addAll(proxy.commandFor(env.examplesJar().toString(), b.getValue(), port));
                String logName = fileName(name) + "-" + b.getKey().name().toLowerCase(Locale.ROOT);
                s.processes.put(b.getKey(), proxy.takesPort()
                        ? Launched.portServer(logName, cmd, port, env.logDir())
                        : Launched.javaServer(logName, cmd, env.logDir()));
            }
        } catch (IOException | InterruptedException | RuntimeException e) {
            s.close();
            throw e;
        }
        return s;
    }

    /** A port nothing listens on now (the proxy binds it a moment later). */
    private static int freePort() throws IOException {
        try (ServerSocket probe = new ServerSocket()) {
            probe.setReuseAddress(true);
            probe.bind(new InetSocketAddress("127.0.0.1", 0));
            return probe.getLocalPort();
        }
    }

    static String fileName(String subject) {
        return subject.replaceAll("[^A-Za-z0-9._-]+", "_");
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public InetSocketAddress endpoint(BackendKind backend) {
        return new InetSocketAddress("127.0.0.1", processes.get(backend).port);
    }

    @Override
    public long pid(BackendKind backend) {
        return processes.get(backend).pid();
    }

    @Override
    public void close() {
        for (Map.Entry<BackendKind, Launched> e : processes.entrySet()) {
            e.getValue().close();
            String summary = e.getValue().lastErrLine("[sockmap] INFO summary:");
            if (summary != null) {
                notes.add(name + " (" + e.getKey().name().toLowerCase(Locale.ROOT) + " backend): "
                        + summary.substring(summary.indexOf("summary:")));
            }
            String off = e.getValue().lastErrLine(": off:");
            if (off != null) {
                notes.add(name + ": AGENT OFF: " + off);
            }
        }
        processes.clear();
    }

    @Override
    public List<String> notes() {
        return List.copyOf(notes);
    }
}
