package io.sockmap.it.engine;

import io.sockmap.engine.EngineConfig;
import io.sockmap.engine.SpliceEngine;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Run in a child JVM without CAP_BPF/CAP_NET_ADMIN/CAP_SYS_ADMIN/CAP_PERFMON: opening the engine
 * must fail with a one-line reason, and a plain userspace relay must still work. Prints
 * {@code CAPEFF}, {@code OPEN ...}, {@code RELAY sent sha recv sha} lines.
 */
public final class NoPrivilegeProbe {
    public static void main(String[] args) throws Exception {
        for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (l.startsWith("CapEff:")) System.out.println("CAPEFF " + l.substring(7).trim());
        }
        try (SpliceEngine e = SpliceEngine.open(EngineConfig.defaults())) {
            System.out.println("OPEN ok (unexpected)");
        } catch (SpliceEngine.EngineUnavailableException e) {
            System.out.println("OPEN failed: " + e.getMessage().replace('\n', ' '));
        } catch (Throwable t) {
            System.out.println("OPEN threw " + t);
        }
        System.out.flush();

        // a userspace relay still works: client -> relay -> backend, 4 MiB, backend answers 4 MiB after EOF
        int size = 4 << 20;
        try (ServerSocket backend = new ServerSocket(0); ServerSocket proxy = new ServerSocket(0)) {
            AtomicReference<String> backendRecv = new AtomicReference<>();
            Thread b = new Thread(() -> {
                try (Socket s = backend.accept()) {
                    backendRecv.set(readAll(s.getInputStream()));
                    OutputStream out = s.getOutputStream();
                    out.write(data(size, 2));
                    s.shutdownOutput();
                } catch (Exception e) {
                    backendRecv.set("error " + e);
                }
            });
            b.start();
            Thread p = new Thread(() -> {
                try {
                    Socket a = proxy.accept();
                    Socket c = new Socket("127.0.0.1", backend.getLocalPort());
                    EngineTestSupport.Relay r = new EngineTestSupport.Relay(a, c, -1).start();
                    r.await(30_000);
                } catch (Exception e) {
                    System.out.println("RELAY error " + e);
                }
            });
            p.start();
            try (Socket client = new Socket("127.0.0.1", proxy.getLocalPort())) {
                client.getOutputStream().write(data(size, 1));
                client.shutdownOutput();
                String got = readAll(client.getInputStream());
                b.join(30_000);
                System.out.println("RELAY c2b sent=" + size + ":" + sha(data(size, 1)) + " recv=" + backendRecv.get());
                System.out.println("RELAY b2c sent=" + size + ":" + sha(data(size, 2)) + " recv=" + got);
            }
        }
        System.out.flush();
        System.exit(0);
    }

    private static byte[] data(int n, long seed) {
        byte[] b = new byte[n];
        new TrafficPeer.Gen(seed).fill(b, n);
        return b;
    }

    private static String readAll(InputStream in) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        byte[] buf = new byte[65536];
        long n = 0;
        int r;
        while ((r = in.read(buf)) >= 0) {
            md.update(buf, 0, r);
            n += r;
        }
        return n + ":" + HexFormat.of().formatHex(md.digest());
    }

    private static String sha(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }
}
