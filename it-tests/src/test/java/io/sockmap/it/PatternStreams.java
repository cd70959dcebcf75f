package io.sockmap.it;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Deterministic byte streams for the kernel tests: byte {@code p} of stream {@code seed} is a
 * function of both, so a receiver checks every byte it gets against what must have been sent at
 * that position (a reset mid-stream may end a stream early, but what arrived must be a prefix of
 * what was sent), and both sides keep a SHA-256 of their bytes. Public for the packet-loss
 * harness ({@code io.sockmap.it.loss}), which runs in its own JVM.
 */
public final class PatternStreams {
    private PatternStreams() {}

    private static final int TABLE = 1 << 20;
    private static final java.util.Map<Long, byte[]> TABLES = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * Fills {@code b[off..off+len)} with bytes {@code pos..pos+len} of stream {@code seed}: a 1 MiB
     * random table per seed, each MiB of the stream XORed with its index (unique positions up to
     * 256 MiB), so filling and checking cost about a memory copy.
     */
    public static void fill(long seed, long pos, byte[] b, int off, int len) {
        byte[] table = TABLES.computeIfAbsent(seed, s -> {
            byte[] t = new byte[TABLE];
            new java.util.SplittableRandom(s * 0x9E3779B97F4A7C15L + 1).nextBytes(t);
            return t;
        });
        while (len > 0) {
            int at = (int) (pos & (TABLE - 1));
            int n = Math.min(len, TABLE - at);
            System.arraycopy(table, at, b, off, n);
            byte k = (byte) (pos >>> 20);
            if (k != 0) {
                for (int i = off; i < off + n; i++) b[i] ^= k;
            }
            pos += n;
            off += n;
            len -= n;
        }
    }

    public static MessageDigest sha() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    /** Writes stream {@code seed}'s bytes in order; {@link #sent()} and {@link #sha256()} say what went out. */
    public static final class Sender {
        final long seed;
        private final OutputStream out;
        private final MessageDigest sha = sha();
        private final byte[] buf = new byte[64 * 1024];
        private final AtomicLong sent = new AtomicLong();

        public Sender(Socket s, long seed) throws IOException {
            this.seed = seed;
            this.out = s.getOutputStream();
        }

        /** Sends {@code bytes} more bytes. */
        void send(long bytes) throws IOException {
            send(bytes, 0);
        }

        /** Sends {@code bytes} more bytes, at most {@code bytesPerSecond} (0: unlimited). */
        void send(long bytes, long bytesPerSecond) throws IOException {
            long start = System.nanoTime();
            long done = 0;
            while (done < bytes) {
                int n = (int) Math.min(bytesPerSecond > 0 ? Math.min(buf.length, bytesPerSecond / 20) : buf.length, bytes - done);
                long pos = sent.get();
                fill(seed, pos, buf, 0, n);
                out.write(buf, 0, n);
                sha.update(buf, 0, n);
                sent.addAndGet(n);
                done += n;
                if (bytesPerSecond > 0) {
                    long due = start + done * 1_000_000_000L / bytesPerSecond;
                    long wait = due - System.nanoTime();
                    if (wait > 0) {
                        try {
                            TimeUnit.NANOSECONDS.sleep(wait);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            throw new IOException("interrupted", e);
                        }
                    }
                }
            }
        }

        /** Sends until {@link #stop()} or an error (returns the error, or null). */
        public IOException sendUntilStopped(java.util.concurrent.atomic.AtomicBoolean stop, long bytesPerSecond) {
            try {
                while (!stop.get()) send(256 * 1024, bytesPerSecond);
                return null;
            } catch (IOException e) {
                return e;
            }
        }

        public long sent() { return sent.get(); }

        /** {@code "<bytes> <sha-256>"} of everything sent; call once, after the last send. */
        String sha256() { return sent.get() + " " + HexFormat.of().formatHex(sha.digest()); }
    }

    /**
     * Reads a socket until EOF or an error on its own thread, checking every byte against stream
     * {@code seed}. {@link #result} completes with how it ended.
     */
    public static final class Receiver {
        final long seed;
        final CompletableFuture<Receiver> result = new CompletableFuture<>();
        private final AtomicLong received = new AtomicLong();
        private volatile long mismatchAt = -1;
        private volatile String end = "running";
        private volatile String sha256;

        public Receiver(Socket s, long seed, String name) {
            this.seed = seed;
            Thread t = new Thread(() -> run(s), name);
            t.setDaemon(true);
            t.start();
        }

        private void run(Socket s) {
            MessageDigest sha = sha();
            byte[] buf = new byte[64 * 1024];
            byte[] expected = new byte[buf.length];
            try {
                InputStream in = s.getInputStream();
                int n;
                while ((n = in.read(buf)) != -1) {
                    long pos = received.get();
                    if (mismatchAt < 0) {
                        fill(seed, pos, expected, 0, n);
                        int m = java.util.Arrays.mismatch(buf, 0, n, expected, 0, n);
                        if (m >= 0) mismatchAt = pos + m;
                    }
                    sha.update(buf, 0, n);
                    received.addAndGet(n);
                }
                end = "eof";
            } catch (IOException e) {
                end = "error: " + e;
            } finally {
                sha256 = received.get() + " " + HexFormat.of().formatHex(sha.digest());
                result.complete(this);
            }
        }

        public long received() { return received.get(); }

        /** First position whose byte differs from the stream, or -1: what arrived is a prefix of what was sent. */
        public long mismatchAt() { return mismatchAt; }

        /** {@code eof}, {@code error: ...} or {@code running}. */
        public String end() { return end; }

        /** {@code "<bytes> <sha-256>"} of everything received, once ended. */
        String sha256() { return sha256; }

        /** Waits for the end; fails with {@code what} if it does not come within {@code seconds}. */
        public Receiver await(long seconds, String what) {
            try {
                return result.get(seconds, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new AssertionError(what + ": no EOF or error within " + seconds + " s (received " + received()
                        + " bytes): a hang", e);
            }
        }

        /** Waits until at least {@code bytes} arrived (or the stream ended). */
        void awaitAtLeast(long bytes, long seconds) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            while (received.get() < bytes && !result.isDone() && System.nanoTime() < deadline) Thread.sleep(2);
            if (received.get() < bytes) throw new AssertionError("received " + received.get() + " of " + bytes + " bytes in "
                    + seconds + " s (" + end + ")");
        }

        @Override
        public String toString() {
            return "received " + received() + " (" + end + ", mismatch at " + mismatchAt + ")";
        }
    }
}
