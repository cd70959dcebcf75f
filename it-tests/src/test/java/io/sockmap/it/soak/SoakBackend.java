package io.sockmap.it.soak;

import java.io.BufferedReader;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The soak's backend, in its own JVM (started by {@link BackendProcess}): a process may hold at
 * most {@code ulimit -n} fds (20,000 here, not raisable without {@code CAP_SYS_RESOURCE}), and
 * 10,000 concurrent connections need 10,000 client ends in the driver and 10,000 backend ends
 * here. Each accepted connection reads its 8-byte id, derives the same {@link Plan} as the driver
 * (from seed and id) and runs the backend side of {@link SoakConnection}.
 *
 * <p>Protocol, one line each, tab-separated. To the driver (stdout): {@code listening PORT},
 * {@code A ID PEERPORT} when a connection's id arrived, {@code D ID} + for the backend's reader and
 * writer: {@code BYTES SHA OUTCOME} when its side is done. From the driver (stdin): {@code B}
 * releases the phase-1 barrier, {@code K ID} resets a hung connection, {@code Q} exits.
 */
public final class SoakBackend {
    private final long seed;
    private final long phase1Bytes;
    private final int readTimeoutMillis;
    private final CountDownLatch barrier = new CountDownLatch(1);
    private final Map<Long, Socket> open = new ConcurrentHashMap<>();
    private final ExecutorService threads = Soak.virtualThreads();
    private final PrintStream out;

    private SoakBackend(long seed, long phase1Bytes, int readTimeoutMillis, PrintStream out) {
        this.seed = seed;
        this.phase1Bytes = phase1Bytes;
        this.readTimeoutMillis = readTimeoutMillis;
        this.out = out;
    }

    /** {@code SoakBackend SEED PHASE1_BYTES READ_TIMEOUT_MILLIS}. */
    public static void main(String[] args) throws Exception {
        PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), false,
                StandardCharsets.UTF_8);
        new SoakBackend(Long.parseLong(args[0]), Long.parseLong(args[1]), Integer.parseInt(args[2]), out).run();
    }

    private void run() throws IOException {
        ServerSocket server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 8192);
        Thread acceptor = new Thread(() -> acceptLoop(server), "soak-backend-accept");
        acceptor.setDaemon(true);
        acceptor.start();
        send("listening\t" + server.getLocalPort());
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String l;
        while ((l = in.readLine()) != null) {
            String[] c = l.split("\t");
            switch (c[0]) {
                case "B" -> barrier.countDown();
                case "K" -> reset(open.get(Long.parseLong(c[1])));
                case "Q" -> {
                    server.close();
                    System.exit(0);
                }
                default -> System.err.println("backend: unknown command " + l);
            }
        }
        System.exit(0); // the driver is gone
    }

    private void acceptLoop(ServerSocket server) {
        while (!server.isClosed()) {
            Socket s;
            try {
                s = server.accept();
            } catch (IOException e) {
                continue;
            }
            threads.execute(() -> serve(s));
        }
    }

    private void serve(Socket s) {
        long id;
        try {
            s.setTcpNoDelay(true);
            s.setSoTimeout(readTimeoutMillis);
            id = new DataInputStream(s.getInputStream()).readLong();
        } catch (IOException e) {
            // a client reset before its header got through: nothing planned reached us
            close(s);
            return;
        }
        Plan plan = Plan.of(seed, id, phase1Bytes);
        boolean phase1 = plan.pauseAfter() > 0;
        SoakConnection c = new SoakConnection(plan, seed,
                System.nanoTime() + TimeUnit.SECONDS.toNanos(phase1 ? Soak.PHASE1_SECONDS : Soak.CHURN_SECONDS));
        open.put(id, s);
        send("A\t" + id + "\t" + s.getPort());
        try {
            c.runSide(s, false, barrier, threads::execute, phase1 ? 0 : readTimeoutMillis);
        } finally {
            open.remove(id);
            send("D\t" + id + "\t" + flow(c.backendIn) + "\t" + flow(c.backendOut));
        }
    }

    private static String flow(SoakConnection.Flow f) {
        byte[] sha = f.sha;
        return f.bytes + "\t" + (sha == null ? "-" : HexFormat.of().formatHex(sha)) + "\t"
                + f.outcome.replace('\t', ' ').replace('\n', ' ');
    }

    private synchronized void send(String line) {
        out.println(line);
        out.flush();
    }

    private static void reset(Socket s) {
        if (s == null) return;
        try {
            s.setSoLinger(true, 0);
        } catch (IOException ignored) {
            // closing anyway
        }
        close(s);
    }

    private static void close(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closed
        }
    }
}
