package io.sockmap.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * HAProxy from the distribution's package in {@code mode tcp}, one frontend per backend, without
 * or with {@code option splice-request} + {@code option splice-response} (kernel splice() through
 * a pipe; {@code splice-auto} did not splice on loopback). Runs in the foreground ({@code -db}),
 * one process with one thread per CPU (HAProxy's default). {@code maxconn} and, with splice, the
 * pipe pool ({@code maxpipes}, two descriptors per pipe) are sized to fit the open-file
 * limit; a connection that finds no free pipe is relayed with recv/send.
 */
final class HaproxySubject implements Subject {

    private final String name;
    private final Launched process;
    private final Map<BackendKind, Integer> ports;

    private HaproxySubject(String name, Launched process, Map<BackendKind, Integer> ports) {
        this.name = name;
        this.process = process;
        this.ports = ports;
    }

    static HaproxySubject start(Env env, String name, boolean splice, Map<BackendKind, InetSocketAddress> backends,
                                int maxconn, int maxpipes)
            throws IOException, InterruptedException {
        Map<BackendKind, Integer> ports = new EnumMap<>(BackendKind.class);
        for (BackendKind b : backends.keySet()) {
            ports.put(b, freePort());
        }
        Path cfg = env.logDir().resolve(JavaProxySubject.fileName(name) + ".cfg");
        Files.writeString(cfg, config(splice, backends, ports, maxconn, maxpipes));
        Launched p = Launched.portServer(JavaProxySubject.fileName(name),
                List.of(env.haproxy(), "-db", "-f", cfg.toString()), ports.values().iterator().next(), env.logDir());
        return new HaproxySubject(name, p, ports);
    }

    /** The configuration file: pure, unit-tested. */
    static String config(boolean splice, Map<BackendKind, InetSocketAddress> backends, Map<BackendKind, Integer> ports,
                         int maxconn, int maxpipes) {
        StringBuilder c = new StringBuilder();
        c.append("global\n    maxconn ").append(maxconn).append('\n');
        if (splice) {
            c.append("    maxpipes ").append(maxpipes).append('\n');
        }
        c.append('\n');
        c.append("defaults\n    mode tcp\n    timeout connect 10s\n    timeout client 300s\n    timeout server 300s\n");
        if (splice) {
            c.append("    option splice-request\n    option splice-response\n");
        }
        for (Map.Entry<BackendKind, InetSocketAddress> b : backends.entrySet()) {
            String id = b.getKey().name().toLowerCase(Locale.ROOT);
            c.append("\nfrontend fe_").append(id).append("\n    bind 127.0.0.1:").append(ports.get(b.getKey()))
                    .append("\n    maxconn ").append(maxconn).append("\n    default_backend be_").append(id).append('\n');
            c.append("\nbackend be_").append(id).append("\n    server s1 ").append(b.getValue().getHostString())
                    .append(':').append(b.getValue().getPort()).append(" maxconn ").append(maxconn).append('\n');
        }
        return c.toString();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public InetSocketAddress endpoint(BackendKind backend) {
        return new InetSocketAddress("127.0.0.1", ports.get(backend));
    }

    @Override
    public long pid(BackendKind backend) {
        return process.pid();
    }

    @Override
    public void close() {
        process.close();
    }
}
