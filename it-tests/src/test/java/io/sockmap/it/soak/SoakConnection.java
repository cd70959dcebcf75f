package io.sockmap.it.soak;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * One soak connection: the client end and the backend end run the same {@link #runSide} code
 * (a writer and a reader each), driven by the connection's {@link Plan}; {@link #verify} then
 * checks what each reader got against what the other side's writer sent.
 */
final class SoakConnection {
    static final int CHUNK = 64 * 1024;

    /** What one side wrote or read in one direction. */
    static final class Flow {
        volatile long bytes;
        volatile byte[] sha;
        /** running, ok (all written / EOF read), reset-sent, error: ..., hang */
        volatile String outcome = "running";

        boolean hung() {
            return outcome.equals("hang") || outcome.equals("running");
        }

        boolean error() {
            return outcome.startsWith("error");
        }
    }

    final Plan plan;
    final long seed;
    final Flow clientOut = new Flow();
    final Flow clientIn = new Flow();
    final Flow backendOut = new Flow();
    final Flow backendIn = new Flow();
    final CountDownLatch sidesDone = new CountDownLatch(2);
    final CountDownLatch clientDone = new CountDownLatch(1);
    volatile Socket clientSocket;
    /** The backend (its own process) reported this connection's id (guarded by this). */
    boolean backendAccepted;
    /** The proxy's port of the backend connection, as the backend saw it (for failure lines). */
    volatile int backendPeerPort;
    volatile long deadlineNanos;
    /** Set by {@link #backendNeverConnected}; a late backend report is then ignored (guarded by this). */
    boolean backendGivenUp;

    SoakConnection(Plan plan, long seed, long deadlineNanos) {
        this.plan = plan;
        this.seed = seed;
        this.deadlineNanos = deadlineNanos;
    }

    /**
     * Runs one end: {@code reader} on the calling thread's partner ({@code spawn}), the writer
     * here. {@code barrier} is awaited after {@link Plan#pauseAfter} bytes (phase 1).
     */
    void runSide(Socket s, boolean client, CountDownLatch barrier, Spawner spawn, int readTimeoutMillis) {
        Flow out = client ? clientOut : backendOut;
        Flow in = client ? clientIn : backendIn;
        CountDownLatch readerDone = new CountDownLatch(1);
        try {
            s.setSoTimeout(readTimeoutMillis);
        } catch (IOException e) {
            // the read reports it
        }
        spawn.start(() -> {
            try {
                read(s, client, in);
            } finally {
                readerDone.countDown();
            }
        });
        try {
            write(s, client, out, barrier, readerDone);
        } finally {
            try {
                if (!readerDone.await(Math.max(1, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                    in.outcome = "hang";
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            try {
                s.close();
            } catch (IOException ignored) {
                // closed
            }
            if (client) clientDone.countDown();
            sidesDone.countDown();
        }
    }

    /** The backend never saw this connection (a client reset before the header got through). */
    synchronized void backendNeverConnected() {
        if (backendAccepted || sidesDone.getCount() == 0) return;
        backendGivenUp = true;
        byte[] empty = StreamBytes.sha256(0, 0);
        for (Flow f : new Flow[] {backendIn, backendOut}) {
            f.sha = empty;
            f.outcome = "ok";
        }
        sidesDone.countDown();
    }

    private void write(Socket s, boolean client, Flow out, CountDownLatch barrier, CountDownLatch readerDone) {
        long key = plan.key(seed, client);
        long writes = client ? plan.clientWrites() : plan.backendWrites();
        boolean resets = plan.rst() == (client ? Plan.RST_CLIENT : Plan.RST_BACKEND);
        MessageDigest sha = StreamBytes.sha256();
        byte[] buf = new byte[CHUNK];
        long pos = 0;
        try {
            OutputStream os = s.getOutputStream();
            while (pos < writes) {
                if (plan.pauseAfter() > 0 && pos == plan.pauseAfter() && barrier != null) {
                    barrier.await();
                }
                long until = plan.pauseAfter() > 0 && pos < plan.pauseAfter() ? plan.pauseAfter() : writes;
                int n = (int) Math.min(buf.length, until - pos);
                StreamBytes.fill(key, buf, n, pos);
                os.write(buf, 0, n);
                sha.update(buf, 0, n);
                pos += n;
                out.bytes = pos;
            }
            out.sha = sha.digest();
            if (resets) {
                s.setSoLinger(true, 0);
                s.close();
                out.outcome = "reset-sent";
                return;
            }
            // half-close order: the side that goes second waits for the other's EOF first
            boolean waitForPeer = plan.order() == (client ? Plan.ORDER_BACKEND_FIRST : Plan.ORDER_CLIENT_FIRST);
            if (waitForPeer) readerDone.await(Math.max(1, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
            s.shutdownOutput();
            out.outcome = "ok";
        } catch (IOException e) {
            out.sha = sha.digest();
            out.outcome = "error: " + e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            out.outcome = "error: interrupted";
        }
    }

    private void read(Socket s, boolean client, Flow in) {
        boolean slow = plan.slow() == (client ? Plan.SLOW_CLIENT : Plan.SLOW_BACKEND);
        MessageDigest sha = StreamBytes.sha256();
        byte[] buf = new byte[slow ? 4096 : CHUNK];
        long total = 0;
        long start = System.nanoTime();
        try {
            InputStream is = s.getInputStream();
            int n;
            while ((n = is.read(buf)) != -1) {
                sha.update(buf, 0, n);
                total += n;
                in.bytes = total;
                if (slow) {
                    long due = start + total * 1_000_000_000L / plan.slowRate();
                    long wait = due - System.nanoTime();
                    if (wait > 0) Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                }
            }
            in.sha = sha.digest();
            in.outcome = "ok";
        } catch (SocketTimeoutException e) {
            in.sha = sha.digest();
            in.outcome = "hang";
        } catch (IOException e) {
            in.sha = sha.digest();
            in.outcome = "error: " + e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            in.sha = sha.digest();
            in.outcome = "error: interrupted";
        }
    }

    /**
     * The backend's side finished (reported by the backend process): its reader and writer
     * figures. Returns false when the connection was already given up as never connected.
     */
    synchronized boolean backendDone(long inBytes, byte[] inSha, String inOutcome, long outBytes, byte[] outSha,
                                     String outOutcome) {
        if (backendGivenUp) return false;
        backendIn.bytes = inBytes;
        backendIn.sha = inSha;
        backendIn.outcome = inOutcome;
        backendOut.bytes = outBytes;
        backendOut.sha = outSha;
        backendOut.outcome = outOutcome;
        sidesDone.countDown();
        return true;
    }

    /**
     * Resets the client end, for the watchdog: a connection past its deadline hung (the driver
     * resets the backend end through the backend process).
     */
    void abandon() {
        for (Flow f : new Flow[] {clientOut, clientIn}) {
            if (f.outcome.equals("running")) f.outcome = "hang";
        }
        Socket s = clientSocket;
        if (s == null) return;
        try {
            s.setSoLinger(true, 0);
            s.close();
        } catch (IOException | RuntimeException ignored) {
            // closed
        }
    }

    /** The verdict on one connection. */
    record Verdict(boolean ok, long bytesVerified, boolean injectedReset, boolean peerSawError, String problem) {}

    Verdict verify() {
        boolean reset = plan.rst() != Plan.RST_NONE;
        StringBuilder problems = new StringBuilder();
        long verified = 0;
        verified += check("up", clientOut, backendIn, plan.up(), plan.key(seed, true), reset, problems);
        verified += check("down", backendOut, clientIn, plan.down(), plan.key(seed, false), reset, problems);
        boolean peerSawError = false;
        if (plan.rst() == Plan.RST_CLIENT) peerSawError = backendIn.error() || backendOut.error();
        if (plan.rst() == Plan.RST_BACKEND) peerSawError = clientIn.error() || clientOut.error();
        String p = problems.length() == 0 ? null : "connection " + describe() + ": " + problems;
        return new Verdict(p == null, verified, reset, peerSawError, p);
    }

    private static long check(String dir, Flow writer, Flow reader, long planned, long key, boolean reset,
                              StringBuilder problems) {
        if (writer.hung() || reader.hung()) {
            problems.append(dir).append(": hang (writer ").append(writer.outcome).append(" after ").append(writer.bytes)
                    .append(" B, reader ").append(reader.outcome).append(" after ").append(reader.bytes).append(" B); ");
            return 0;
        }
        if (!reset) {
            boolean good = writer.outcome.equals("ok") && reader.outcome.equals("ok") && writer.bytes == planned
                    && reader.bytes == planned && Arrays.equals(writer.sha, reader.sha);
            if (!good) {
                problems.append(dir).append(": planned ").append(planned).append(" B, writer ").append(writer.outcome)
                        .append(' ').append(writer.bytes).append(" B, reader ").append(reader.outcome).append(' ')
                        .append(reader.bytes).append(" B, sha ").append(hex(writer.sha)).append(" vs ")
                        .append(hex(reader.sha)).append("; ");
                return 0;
            }
            return reader.bytes;
        }
        // a reset somewhere: what arrived must be an exact prefix of the stream
        long n = reader.bytes;
        if (reader.sha == null || !Arrays.equals(reader.sha, StreamBytes.sha256(key, n)) || n > Math.max(writer.bytes, planned)) {
            problems.append(dir).append(": received ").append(n).append(" B that are not a prefix of the ")
                    .append(writer.bytes).append(" B sent (reader ").append(reader.outcome).append("); ");
            return 0;
        }
        return n;
    }

    String describe() {
        Socket c = clientSocket;
        int b = backendPeerPort;
        return "id " + Long.toHexString(plan.id()) + " (client port " + (c == null ? "-" : c.getLocalPort())
                + ", proxy " + (c == null ? "-" : c.getPort()) + ", backend-side proxy port " + (b == 0 ? "-" : b) + ") "
                + plan;
    }

    private static String hex(byte[] b) {
        return b == null ? "null" : HexFormat.of().formatHex(b, 0, 8);
    }

    /** Starts a task on a new (virtual, where available) thread. */
    @FunctionalInterface
    interface Spawner {
        void start(Runnable r);
    }
}
