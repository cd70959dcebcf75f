package io.sockmap.instrument;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadFactory;
import java.util.function.Consumer;

/**
 * client -> relay (the code under test's kind of proxy, thread per direction) -> backend, on
 * loopback, with SHA-256 of everything sent and received on both ends.
 */
final class LoopbackRig implements AutoCloseable {
    enum Style { COPY, TRANSFER_TO, UPPERCASE }

    final ServerSocket backend;
    final ServerSocket relay;
    final Style style;
    final ThreadFactory threads;
    final UserspaceSplicer splicer;
    final List<Throwable> relayErrors = new CopyOnWriteArrayList<>();
    final CompletableFuture<Socket[]> relayPair = new CompletableFuture<>();
    /** Completes with (bytes received, sha256) when the backend read EOF. */
    final CompletableFuture<String> backendReceived = new CompletableFuture<>();
    final CompletableFuture<Void> relayDone = new CompletableFuture<>();
    volatile Consumer<Socket> configureAccepted = s -> {};
    private final long responseBytes;
    String backendSentSha;

    LoopbackRig(Style style, ThreadFactory threads, UserspaceSplicer splicer, long responseBytes) throws IOException {
        this.style = style;
        this.threads = threads;
        this.splicer = splicer;
        this.responseBytes = responseBytes;
        InetAddress lo = InetAddress.getLoopbackAddress();
        backend = new ServerSocket(0, 50, lo);
        relay = new ServerSocket(0, 50, lo);
        daemon(this::backendLoop).start();
        daemon(this::relayLoop).start();
    }

    int relayPort() { return relay.getLocalPort(); }

    private static Thread daemon(Runnable r) {
        Thread t = new Thread(r, "rig");
        t.setDaemon(true);
        return t;
    }

    private void backendLoop() {
        try (Socket s = backend.accept()) {
            Thread writer = daemon(() -> {
                try {
                    backendSentSha = send(s.getOutputStream(), responseBytes, 7);
                    s.shutdownOutput();
                } catch (IOException e) {
                    backendSentSha = "error " + e;
                }
            });
            writer.start();
            backendReceived.complete(drain(s.getInputStream()));
            writer.join();
        } catch (Exception e) {
            backendReceived.completeExceptionally(e);
        }
    }

    private void relayLoop() {
        try {
            Socket a = relay.accept();
            configureAccepted.accept(a);
            Socket b = new Socket();
            b.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), backend.getLocalPort()));
            splicer.register(a);
            splicer.register(b);
            relayPair.complete(new Socket[] {a, b});
            Thread up = threads.newThread(() -> pump(a, b));
            Thread down = threads.newThread(() -> pump(b, a));
            up.start();
            down.start();
            up.join();
            down.join();
            a.close();
            b.close();
            relayDone.complete(null);
        } catch (Throwable e) {
            relayPair.completeExceptionally(e);
            relayDone.completeExceptionally(e);
        }
    }

    /** What a simple blocking proxy does per direction. */
    private void pump(Socket from, Socket to) {
        try {
            InputStream in = from.getInputStream();
            OutputStream out = to.getOutputStream();
            switch (style) {
                case COPY -> {
                    byte[] buf = new byte[8192];
                    int n;
                    while ((n = in.read(buf)) != -1) out.write(buf, 0, n);
                }
                case TRANSFER_TO -> in.transferTo(out);
                case UPPERCASE -> {
                    byte[] buf = new byte[8192];
                    byte[] up = new byte[8192];
                    int n;
                    while ((n = in.read(buf)) != -1) {
                        for (int i = 0; i < n; i++) up[i] = upper(buf[i]);
                        out.write(up, 0, n);
                    }
                }
            }
            to.shutdownOutput();
        } catch (Throwable e) {
            relayErrors.add(e);
        }
    }

    static byte upper(byte b) {
        return b >= 'a' && b <= 'z' ? (byte) (b - 32) : b;
    }

    @Override
    public void close() throws IOException {
        backend.close();
        relay.close();
    }

    // ---------------------------------------------------------------- data helpers

    /** Sends {@code n} pseudo-random bytes (seeded), returns "n sha256". */
    static String send(OutputStream out, long n, long seed) throws IOException {
        MessageDigest sha = sha();
        Random r = new Random(seed);
        byte[] buf = new byte[16384];
        long left = n;
        while (left > 0) {
            int k = (int) Math.min(buf.length, left);
            r.nextBytes(buf);
            for (int i = 0; i < k; i++) buf[i] = (byte) ('a' + (buf[i] & 15)); // letters: UPPERCASE changes them
            out.write(buf, 0, k);
            sha.update(buf, 0, k);
            left -= k;
        }
        return n + " " + HexFormat.of().formatHex(sha.digest());
    }

    /** What {@link #send} sends, uppercased. */
    static String expectedUpper(long n, long seed) {
        MessageDigest sha = sha();
        Random r = new Random(seed);
        byte[] buf = new byte[16384];
        long left = n;
        while (left > 0) {
            int k = (int) Math.min(buf.length, left);
            r.nextBytes(buf);
            for (int i = 0; i < k; i++) buf[i] = upper((byte) ('a' + (buf[i] & 15)));
            sha.update(buf, 0, k);
            left -= k;
        }
        return n + " " + HexFormat.of().formatHex(sha.digest());
    }

    static String drain(InputStream in) throws IOException {
        MessageDigest sha = sha();
        byte[] buf = new byte[16384];
        long total = 0;
        int n;
        while ((n = in.read(buf)) != -1) {
            sha.update(buf, 0, n);
            total += n;
        }
        return total + " " + HexFormat.of().formatHex(sha.digest());
    }

    static MessageDigest sha() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }
}
