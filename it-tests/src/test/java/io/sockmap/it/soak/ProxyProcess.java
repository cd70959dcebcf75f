package io.sockmap.it.soak;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

/**
 * The proxy under test in its own JVM: any main class with any arguments. In the arguments,
 * {@code {target}} becomes the backend's {@code host:port} and {@code {port}} a free port the
 * proxy should listen on. The proxy is ready when it prints {@code listening on <port>} or when
 * {@code {port}} accepts connections. The agent's MBean is read over local JMX (the proxy JVM gets
 * {@code -Dcom.sun.management.jmxremote.*} options bound to 127.0.0.1); fds and threads come from
 * {@code /proc/PID}.
 */
final class ProxyProcess implements AutoCloseable {
    private static final Pattern LISTENING = Pattern.compile("listening on (\\d+)");
    static final ObjectName MBEAN = name("io.sockmap:type=SpliceAgent");
    /** {@code -Dsoak.proxyLog=FILE}: the proxy's stderr goes there instead of memory (for debug logs). */
    private static final java.io.PrintStream LOG = openLog();

    private static java.io.PrintStream openLog() {
        String f = System.getProperty("soak.proxyLog");
        if (f == null) return null;
        try {
            return new java.io.PrintStream(new java.io.FileOutputStream(f), true, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    final Process process;
    final int port;
    final int jmxPort;
    final List<String> stderr = new CopyOnWriteArrayList<>();
    private JMXConnector jmx;
    private MBeanServerConnection server;

    private ProxyProcess(Process process, int port, int jmxPort) {
        this.process = process;
        this.port = port;
        this.jmxPort = jmxPort;
    }

    static ProxyProcess start(String java, List<String> jvmOptions, String classPath, String mainClass,
                              List<String> args, InetSocketAddress backend) throws Exception {
        int freePort = freePort();
        int jmxPort = freePort();
        List<String> cmd = new ArrayList<>();
        cmd.add(java);
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-Dcom.sun.management.jmxremote.port=" + jmxPort,
                "-Dcom.sun.management.jmxremote.rmi.port=" + jmxPort,
                "-Dcom.sun.management.jmxremote.host=127.0.0.1", "-Djava.rmi.server.hostname=127.0.0.1",
                "-Dcom.sun.management.jmxremote.authenticate=false", "-Dcom.sun.management.jmxremote.ssl=false",
                "-Dcom.sun.management.jmxremote.local.only=true"));
        cmd.addAll(List.of("-cp", classPath, mainClass));
        for (String a : args) {
            cmd.add(a.replace("{target}", "127.0.0.1:" + backend.getPort()).replace("{port}", String.valueOf(freePort)));
        }
        Soak.say("proxy: " + String.join(" ", cmd));
        Process p = new ProcessBuilder(cmd).start();
        CompletableFuture<Integer> listening = new CompletableFuture<>();
        ProxyProcess proxy;
        pump(p.getInputStream(), null, listening);
        boolean portArg = args.stream().anyMatch(a -> a.contains("{port}"));
        int port;
        try {
            if (portArg) {
                port = freePort;
                waitAccepting(p, port);
            } else {
                port = listening.get(60, TimeUnit.SECONDS);
            }
        } catch (Exception e) {
            p.destroyForcibly();
            throw new IOException("the proxy did not start (no 'listening on <port>' line and no {port} argument)", e);
        }
        proxy = new ProxyProcess(p, port, jmxPort);
        pump(p.getErrorStream(), proxy.stderr, null);
        return proxy;
    }

    private static void waitAccepting(Process p, int port) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline && p.isAlive()) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return;
            } catch (IOException e) {
                Thread.sleep(100);
            }
        }
        throw new IOException("port " + port + " never accepted");
    }

    private static void pump(InputStream in, List<String> lines, CompletableFuture<Integer> listening) {
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                String l;
                while ((l = r.readLine()) != null) {
                    if (lines != null) {
                        if (LOG != null) LOG.println(l);
                        else lines.add(l);
                        if (l.startsWith("[sockmap] ") && !l.contains(" DEBUG ")) Soak.say("proxy stderr: " + l);
                    }
                    if (listening != null) {
                        Matcher m = LISTENING.matcher(l);
                        if (m.find()) listening.complete(Integer.parseInt(m.group(1)));
                    }
                }
            } catch (IOException ignored) {
                // ended
            }
            if (listening != null) listening.completeExceptionally(new IOException("stdout closed"));
        }, "proxy-output");
        t.setDaemon(true);
        t.start();
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static ObjectName name(String n) {
        try {
            return new ObjectName(n);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    // ------------------------------------------------------------------ JMX

    private MBeanServerConnection server() throws IOException {
        if (server == null) {
            IOException last = null;
            for (int i = 0; i < 50 && server == null; i++) {
                try {
                    jmx = JMXConnectorFactory.connect(new JMXServiceURL(
                            "service:jmx:rmi:///jndi/rmi://127.0.0.1:" + jmxPort + "/jmxrmi"));
                    server = jmx.getMBeanServerConnection();
                } catch (IOException e) {
                    last = e;
                    sleep(200);
                }
            }
            if (server == null) throw last;
        }
        return server;
    }

    /** An attribute of the agent's MBean, or null when the MBean is not there. */
    Object attribute(String name) {
        try {
            MBeanServerConnection s = server();
            if (!s.isRegistered(MBEAN)) return null;
            return s.getAttribute(MBEAN, name);
        } catch (Exception e) {
            return null;
        }
    }

    long longAttribute(String name) {
        Object v = attribute(name);
        return v instanceof Number n ? n.longValue() : -1;
    }

    @SuppressWarnings("unchecked")
    Map<String, Long> mapAttribute(String name) {
        Object v = attribute(name);
        return v instanceof Map<?, ?> m ? new TreeMap<>((Map<String, Long>) m) : Map.of();
    }

    // ------------------------------------------------------------------ /proc

    /** Open fds by kind: socket (not JMX), jmx (sockets on the JMX port), bpf, other. */
    Map<String, Long> fds() {
        Map<String, Long> out = new TreeMap<>();
        out.put("socket", 0L);
        out.put("jmx", 0L);
        out.put("bpf", 0L);
        out.put("other", 0L);
        Set<String> jmxInodes = inodesOnPort(jmxPort);
        try (Stream<Path> fds = Files.list(Path.of("/proc/" + process.pid() + "/fd"))) {
            for (Path fd : (Iterable<Path>) fds::iterator) {
                String link;
                try {
                    link = Files.readSymbolicLink(fd).toString();
                } catch (IOException e) {
                    continue; // closed meanwhile
                }
                String kind;
                if (link.startsWith("socket:[")) {
                    kind = jmxInodes.contains(link.substring(8, link.length() - 1)) ? "jmx" : "socket";
                } else if (link.contains("bpf")) {
                    kind = "bpf";
                } else {
                    kind = "other";
                }
                out.merge(kind, 1L, Long::sum);
            }
        } catch (IOException e) {
            out.put("other", -1L);
        }
        return out;
    }

    /** Socket inodes with local or remote port {@code port} (from /proc/net/tcp and tcp6). */
    private static Set<String> inodesOnPort(int port) {
        Set<String> out = new HashSet<>();
        String hexPort = String.format(":%04X", port);
        for (String f : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
            try {
                for (String l : Files.readAllLines(Path.of(f))) {
                    String[] c = l.trim().split("\\s+");
                    if (c.length < 10 || c[0].equals("sl")) continue;
                    if (c[1].endsWith(hexPort) || c[2].endsWith(hexPort)) out.add(c[9]);
                }
            } catch (IOException e) {
                // not there
            }
        }
        return out;
    }

    /**
     * Threads by kind: app (everything else), jit (C1/C2 compiler threads), gc (G1 and GC worker
     * threads: the JVM starts them on demand), jmx (RMI/JMX threads).
     */
    Map<String, Long> threads() {
        Map<String, Long> out = new TreeMap<>();
        out.put("app", 0L);
        out.put("jit", 0L);
        out.put("gc", 0L);
        out.put("jmx", 0L);
        try (Stream<Path> tasks = Files.list(Path.of("/proc/" + process.pid() + "/task"))) {
            for (Path t : (Iterable<Path>) tasks::iterator) {
                String comm;
                try {
                    comm = Files.readString(t.resolve("comm")).trim();
                } catch (IOException e) {
                    continue;
                }
                String kind = comm.startsWith("C1 Compiler") || comm.startsWith("C2 Compiler") ? "jit"
                        : comm.startsWith("GC Thread") || comm.startsWith("G1 ") ? "gc"
                        : comm.startsWith("RMI ") || comm.startsWith("JMX ") ? "jmx" : "app";
                out.merge(kind, 1L, Long::sum);
            }
        } catch (IOException e) {
            out.put("app", -1L);
        }
        return out;
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** SIGTERM, then the agent's summary line if it printed one. */
    String stop() {
        try {
            if (jmx != null) jmx.close();
        } catch (IOException ignored) {
            // gone
        }
        process.toHandle().destroy();
        try {
            if (!process.waitFor(30, TimeUnit.SECONDS)) process.destroyForcibly();
            Thread.sleep(300);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (String l : stderr) {
            if (l.contains("summary: ")) return l;
        }
        return LOG != null ? "(see " + System.getProperty("soak.proxyLog") + ")" : "(no summary line)";
    }

    @Override
    public void close() {
        if (process.isAlive()) stop();
    }
}
