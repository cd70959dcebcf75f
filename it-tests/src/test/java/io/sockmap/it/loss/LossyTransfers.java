package io.sockmap.it.loss;

import io.sockmap.it.PatternStreams;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The traffic side of the packet-loss harness ({@code scripts/lossy.sh}): a checking backend and
 * the clients in one JVM (no agent), the proxy under test in another JVM between them. Run inside
 * the network namespace whose loopback drops packets.
 *
 * <pre>
 * java -cp it-tests/target/test-classes io.sockmap.it.loss.LossyTransfers --proxy 127.0.0.1:7000 --backend-port 7001
 *      [--connections 60] [--parallel 6] [--styles bulk,small,rr] [--seed 1] [--bulk-bytes 16m] [--small-bytes 8m]
 *      [--rr-rounds 300] [--timeout 90]
 * </pre>
 *
 * Connection {@code i} uses style {@code styles[i % n]} ({@link Style}); the client sends a 40-byte
 * header naming the connection, its style, sizes and seed, then both sides move
 * {@link PatternStreams} bytes (client to server stream {@code 2 * seed}, server to client
 * {@code 2 * seed + 1}). Each receiver keeps the SHA-256 of what it got and a {@link StreamCheck};
 * a direction fails when the byte count or the SHA-256 differs from the sender's, or an error or
 * timeout ends it. Prints one {@code FAIL} line per damaged direction (the offset of the first
 * difference, and where the bytes found there come from: a repeated block's source and length), a
 * progress line every 10 s, and at the end
 * {@code RESULT connections N failed F directions-failed D duplicated-bytes B missing-bytes M verified-bytes V seconds S}.
 * Exit status 0 when every byte arrived exactly once and in order, 1 otherwise, 2 on bad options.
 */
public final class LossyTransfers {
    private static final int MAGIC = 0x4C4F5353; // "LOSS"

    private final Options o;
    private final Map<Integer, CompletableFuture<Direction>> upstream = new ConcurrentHashMap<>();
    private final AtomicInteger done = new AtomicInteger();
    private final AtomicInteger failed = new AtomicInteger();
    private final AtomicInteger directionsFailed = new AtomicInteger();
    private final AtomicLong duplicated = new AtomicLong();
    private final AtomicLong missing = new AtomicLong();
    private final AtomicLong verified = new AtomicLong();

    private LossyTransfers(Options o) {
        this.o = o;
    }

    public static void main(String[] args) throws Exception {
        Options o;
        try {
            o = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("LossyTransfers: " + e.getMessage());
            System.exit(2);
            return;
        }
        System.exit(new LossyTransfers(o).run() ? 0 : 1);
    }

    private boolean run() throws Exception {
        long start = System.nanoTime();
        try (ServerSocket server = new ServerSocket()) {
            server.setReuseAddress(true);
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), o.backendPort), 512);
            daemon("backend-accept", () -> accept(server));
            AtomicInteger next = new AtomicInteger();
            List<Thread> clients = new ArrayList<>();
            for (int t = 0; t < o.parallel; t++) {
                clients.add(daemon("client-" + t, () -> {
                    for (int i; (i = next.getAndIncrement()) < o.connections; ) {
                        connection(i);
                    }
                }));
            }
            Thread progress = daemon("progress", () -> {
                try {
                    for (;;) {
                        Thread.sleep(10_000);
                        say(String.format(Locale.ROOT, "progress: %d of %d connections done, %d failed, %.0f s", done.get(),
                                o.connections, failed.get(), (System.nanoTime() - start) / 1e9));
                    }
                } catch (InterruptedException e) {
                    // finished
                }
            });
            for (Thread c : clients) c.join();
            progress.interrupt();
        }
        say(String.format(Locale.ROOT, "RESULT connections %d failed %d directions-failed %d duplicated-bytes %d missing-bytes %d"
                        + " verified-bytes %d seconds %.1f", done.get(), failed.get(), directionsFailed.get(), duplicated.get(),
                missing.get(), verified.get(), (System.nanoTime() - start) / 1e9));
        return failed.get() == 0 && done.get() == o.connections;
    }

    // ---- client side -------------------------------------------------------------------------

    private void connection(int id) {
        Style style = o.styles.get(id % o.styles.size());
        long seed = o.seed * 1_000_003L + id % 64; // PatternStreams keeps a 1 MiB table per stream seed
        Random sizes = new Random(seed);
        long up;
        long down;
        if (style == Style.RR) {
            up = o.rrRounds;
            down = 0;
        } else {
            long max = style == Style.BULK ? o.bulkBytes : o.smallBytes;
            up = max / 4 + (long) (sizes.nextDouble() * (max - max / 4));
            down = max / 4 + (long) (sizes.nextDouble() * (max - max / 4));
        }
        CompletableFuture<Direction> atBackend = upstream.computeIfAbsent(id, k -> new CompletableFuture<>());
        Direction gotDown = new Direction("s->c");
        Sender out = null;
        long expectDown = down;
        try (Socket s = new Socket()) {
            s.connect(o.proxy, 10_000);
            s.setSoTimeout(o.timeoutSeconds * 1000);
            s.setTcpNoDelay(style != Style.BULK);
            DataOutputStream header = new DataOutputStream(s.getOutputStream());
            header.writeInt(MAGIC);
            header.writeInt(id);
            header.writeInt(style.ordinal());
            header.writeLong(up);
            header.writeLong(down);
            header.writeLong(seed);
            header.writeInt(0);
            header.flush();
            out = new Sender(s, 2 * seed);
            StreamCheck in = new StreamCheck(2 * seed + 1);
            if (style == Style.RR) {
                Random r = new Random(seed);
                byte[] buf = new byte[16 * 1024];
                expectDown = 0;
                for (long round = 0; round < up; round++) {
                    int request = Style.requestSize(r);
                    int response = Style.responseSize(r);
                    out.send(request, style, r);
                    expectDown += response;
                    readExactly(s.getInputStream(), in, buf, response);
                }
                s.shutdownOutput();
                drain(s.getInputStream(), in, buf);
            } else {
                sendAllWhileDraining("client-writer-" + id, out, up, style, s, in);
            }
            gotDown.received(in);
        } catch (Exception e) {
            gotDown.error = describe(e);
        }
        gotDown.expect(expectDown, streamSha(2 * seed + 1, expectDown));
        Direction upResult;
        try {
            if (out == null) throw new IOException("not connected");
            upResult = atBackend.get(o.timeoutSeconds, TimeUnit.SECONDS);
        } catch (Exception e) {
            upResult = new Direction("c->s");
            upResult.error = out == null ? "not connected" : "the backend did not finish within " + o.timeoutSeconds + " s";
        }
        upstream.remove(id);
        if (out != null) {
            upResult.expect(out.sent, HexFormat.of().formatHex(out.sha.digest()));
        }
        finish(id, style, upResult, gotDown);
    }

    private IOException sendAll(Sender out, long bytes, Style style, Socket s) {
        try {
            Random r = new Random(out.seed);
            while (out.sent < bytes) {
                out.send((int) Math.min(64 * 1024, bytes - out.sent), style, r);
            }
            s.shutdownOutput();
            return null;
        } catch (IOException e) {
            return e;
        }
    }

    /** {@link #sendAll} on a thread named {@code writer} while this one reads {@code s} to EOF into {@code in}. */
    private void sendAllWhileDraining(String writer, Sender out, long bytes, Style style, Socket s, StreamCheck in)
            throws Exception {
        CompletableFuture<IOException> written = new CompletableFuture<>();
        daemon(writer, () -> written.complete(sendAll(out, bytes, style, s)));
        drain(s.getInputStream(), in, new byte[64 * 1024]);
        IOException e = written.get(o.timeoutSeconds, TimeUnit.SECONDS);
        if (e != null) throw e;
    }

    private void finish(int id, Style style, Direction up, Direction down) {
        boolean upOk = up.ok();
        boolean downOk = down.ok();
        for (Direction d : List.of(up, down)) {
            duplicated.addAndGet(d.duplicated);
            missing.addAndGet(d.skipped);
            if (d.ok()) verified.addAndGet(d.receivedBytes);
        }
        if (!upOk || !downOk) {
            failed.incrementAndGet();
            for (Direction d : List.of(up, down)) {
                if (!d.ok()) {
                    directionsFailed.incrementAndGet();
                    say("FAIL connection " + id + " (" + style.name().toLowerCase(Locale.ROOT) + ") " + d.describe());
                }
            }
        }
        done.incrementAndGet();
    }

    // ---- backend side ------------------------------------------------------------------------

    private void accept(ServerSocket server) {
        try {
            for (;;) {
                Socket s = server.accept();
                daemon("backend-conn", () -> serve(s));
            }
        } catch (IOException e) {
            // closed at the end
        }
    }

    private void serve(Socket s) {
        Direction gotUp = new Direction("c->s");
        CompletableFuture<Direction> result = null;
        try (s) {
            s.setSoTimeout(o.timeoutSeconds * 1000);
            DataInputStream header = new DataInputStream(s.getInputStream());
            if (header.readInt() != MAGIC) throw new IOException("bad header");
            int id = header.readInt();
            result = upstream.computeIfAbsent(id, k -> new CompletableFuture<>());
            Style style = Style.values()[header.readInt()];
            long up = header.readLong();
            long down = header.readLong();
            long seed = header.readLong();
            header.readInt();
            s.setTcpNoDelay(style != Style.BULK);
            StreamCheck in = new StreamCheck(2 * seed);
            Sender out = new Sender(s, 2 * seed + 1);
            if (style == Style.RR) {
                Random r = new Random(seed);
                byte[] buf = new byte[16 * 1024];
                for (long round = 0; round < up; round++) {
                    int request = Style.requestSize(r);
                    int response = Style.responseSize(r);
                    readExactly(s.getInputStream(), in, buf, request);
                    out.send(response, style, r);
                }
                drain(s.getInputStream(), in, buf);
                s.shutdownOutput();
            } else {
                sendAllWhileDraining("backend-writer-" + id, out, down, style, s, in);
            }
            gotUp.received(in);
        } catch (Exception e) {
            gotUp.error = describe(e);
        }
        if (result != null) result.complete(gotUp);
    }

    // ---- helpers -----------------------------------------------------------------------------

    private static void readExactly(InputStream in, StreamCheck check, byte[] buf, int bytes) throws IOException {
        for (int got = 0; got < bytes; ) {
            int n = in.read(buf, 0, Math.min(buf.length, bytes - got));
            if (n < 0) throw new IOException("EOF after " + check.received() + " bytes, in the middle of a message");
            check.feed(buf, 0, n);
            got += n;
        }
    }

    private static void drain(InputStream in, StreamCheck check, byte[] buf) throws IOException {
        for (int n; (n = in.read(buf)) >= 0; ) {
            check.feed(buf, 0, n);
        }
    }

    /** SHA-256 of the first {@code length} bytes of stream {@code seed}. */
    private static String streamSha(long seed, long length) {
        MessageDigest sha = PatternStreams.sha();
        byte[] buf = new byte[64 * 1024];
        for (long pos = 0; pos < length; ) {
            int n = (int) Math.min(buf.length, length - pos);
            PatternStreams.fill(seed, pos, buf, 0, n);
            sha.update(buf, 0, n);
            pos += n;
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    private static String describe(Exception e) {
        Throwable t = e instanceof java.util.concurrent.ExecutionException && e.getCause() != null ? e.getCause() : e;
        return t.toString();
    }

    private static Thread daemon(String name, Runnable r) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    private static synchronized void say(String line) {
        System.out.println(line);
        System.out.flush();
    }

    /** Writes stream {@code seed} in the sizes a style asks for, keeping the count and the SHA-256. */
    private static final class Sender {
        final long seed;
        private final OutputStream out;
        private final MessageDigest sha = PatternStreams.sha();
        private final byte[] buf = new byte[64 * 1024];
        long sent;

        Sender(Socket s, long seed) throws IOException {
            this.seed = seed;
            this.out = s.getOutputStream();
        }

        /** Sends {@code bytes}: one write for bulk and request/response, writes of the style's sizes otherwise. */
        void send(int bytes, Style style, Random r) throws IOException {
            for (int done = 0; done < bytes; ) {
                int n = Math.min(bytes - done, style == Style.SMALL ? Math.min(buf.length, style.nextWrite(r)) : buf.length);
                PatternStreams.fill(seed, sent, buf, 0, n);
                out.write(buf, 0, n);
                sha.update(buf, 0, n);
                sent += n;
                done += n;
            }
        }
    }

    /** One direction's outcome: what was sent (count, SHA-256) against what arrived and how it differs. */
    private static final class Direction {
        final String name;
        long sentBytes = -1;
        String sentSha;
        long receivedBytes = -1;
        String receivedSha;
        long duplicated;
        long skipped;
        List<String> events = List.of();
        String error;

        Direction(String name) {
            this.name = name;
        }

        void expect(long bytes, String sha) {
            sentBytes = bytes;
            sentSha = sha;
        }

        void received(StreamCheck c) {
            receivedSha = c.finish();
            receivedBytes = c.received();
            duplicated = c.duplicatedBytes();
            skipped = c.skippedBytes();
            events = c.events();
        }

        boolean ok() {
            return error == null && receivedSha != null && receivedBytes == sentBytes && events.isEmpty()
                    && (sentSha == null || sentSha.equals(receivedSha));
        }

        String describe() {
            StringBuilder b = new StringBuilder(name).append(": sent ").append(sentBytes).append(" bytes, received ")
                    .append(receivedBytes);
            if (receivedSha != null && sentSha != null && !sentSha.equals(receivedSha)) b.append(", SHA-256 differs");
            if (error != null) b.append(", ended by ").append(error);
            for (String e : events) b.append("; ").append(e);
            if (receivedSha != null && events.isEmpty() && receivedBytes < sentBytes) {
                b.append("; what arrived is an exact prefix (the tail is missing)");
            }
            return b.toString();
        }
    }

    /** Command line. */
    private static final class Options {
        InetSocketAddress proxy;
        int backendPort = 7001;
        int connections = 60;
        int parallel = 6;
        List<Style> styles = List.of(Style.BULK, Style.SMALL, Style.RR);
        long seed = 1;
        long bulkBytes = 16L << 20;
        long smallBytes = 8L << 20;
        int rrRounds = 300;
        int timeoutSeconds = 90;

        static Options parse(String[] args) {
            Options o = new Options();
            for (int i = 0; i < args.length; i += 2) {
                if (i + 1 >= args.length) throw new IllegalArgumentException(args[i] + " needs a value");
                String v = args[i + 1];
                switch (args[i]) {
                    case "--proxy": {
                        int colon = v.lastIndexOf(':');
                        o.proxy = new InetSocketAddress(v.substring(0, colon), Integer.parseInt(v.substring(colon + 1)));
                        break;
                    }
                    case "--backend-port": o.backendPort = Integer.parseInt(v); break;
                    case "--connections": o.connections = Integer.parseInt(v); break;
                    case "--parallel": o.parallel = Integer.parseInt(v); break;
                    case "--seed": o.seed = Long.parseLong(v); break;
                    case "--bulk-bytes": o.bulkBytes = size(v); break;
                    case "--small-bytes": o.smallBytes = size(v); break;
                    case "--rr-rounds": o.rrRounds = Integer.parseInt(v); break;
                    case "--timeout": o.timeoutSeconds = Integer.parseInt(v); break;
                    case "--styles": {
                        List<Style> s = new ArrayList<>();
                        for (String name : v.split(",")) s.add(Style.valueOf(name.trim().toUpperCase(Locale.ROOT)));
                        o.styles = List.copyOf(s);
                        break;
                    }
                    default: throw new IllegalArgumentException("unknown option " + args[i]);
                }
            }
            if (o.proxy == null) throw new IllegalArgumentException("--proxy HOST:PORT is required");
            return o;
        }

        static long size(String v) {
            String s = v.toLowerCase(Locale.ROOT);
            int shift = s.endsWith("k") ? 10 : s.endsWith("m") ? 20 : s.endsWith("g") ? 30 : 0;
            return Long.parseLong(shift == 0 ? s : s.substring(0, s.length() - 1)) << shift;
        }
    }
}
