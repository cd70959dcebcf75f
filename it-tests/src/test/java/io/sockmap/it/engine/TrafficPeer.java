package io.sockmap.it.engine;

import java.io.BufferedReader;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The client and the backend of the engine tests, run in a child JVM so that the test JVM's
 * {@code /proc/self/io} only shows the proxy. Protocol on stdout / stdin (one line each):
 * <pre>
 *   child: PORT &lt;backend port&gt;
 *   test:  PROXY &lt;host&gt; &lt;port&gt;
 *   child: CONNECTED &lt;n&gt;            (all clients connected)
 *   test:  GO                         (only with waitGo=true: clients start sending)
 *   child: PROGRESS ...               (with progressMs=N)
 *   child: RST &lt;id&gt; client|backend   (an end reset its socket)
 *   child: RESULT id=.. c.sent=.. c.sentSha=.. c.recv=.. c.recvSha=.. c.rerr=.. c.werr=.. b.(same)
 *   child: DONE | TIMEOUT
 * </pre>
 * Each client's stream starts with an 8-byte connection id (counted and hashed like the rest),
 * so that the backend can match its accepted socket to the client.
 *
 * <p>Options (key=value): host, conns, c2b, b2c (payload bytes after the id), order
 * (concurrent|client-first|backend-first: with client-first the backend only starts sending once
 * it read the client's EOF, and vice versa), slowRead (backend read rate, bytes/s), bufs
 * (SO_SNDBUF/SO_RCVBUF of both ends), rst (client:N | backend:N: that end sends N payload bytes,
 * then resets with SO_LINGER 0 + close; the other end sends until it fails), mode
 * (stream|reqresp), rounds, msg (request/response size), seed, waitGo, progressMs, timeoutSec,
 * backendDelayMs (the backend waits this long before sending, and so before its FIN), clientSlowRead
 * (client read rate, bytes/s), clientFinDelayMs (the client waits this long between its last byte and its FIN),
 * nio (true: all connections on one selector thread, for many connections; stream mode, concurrent order only).
 * Each receiving end also checks the payload against the sender's generator and reports the first
 * differing offset ({@code firstBad}) and whether the bytes there were found earlier or later in the
 * expected stream (duplication or loss).
 */
public final class TrafficPeer {
    private static final int CHUNK = 64 * 1024;
    private static final PrintStream OUT = System.out;

    private final String host;
    private final int conns;
    private final long c2b;
    private final long b2c;
    private final String order;
    private final long slowRead;
    private final long clientSlowRead;
    private final long clientFinDelayMs;
    private final int bufs;
    private final String rstSide;
    private final long rstAfter;
    private final boolean reqResp;
    private final int rounds;
    private final int msg;
    private final long seed;
    private final boolean waitGo;
    private final int progressMs;
    private final int timeoutSec;
    private final long backendDelayMs;

    private final CountDownLatch go = new CountDownLatch(1);
    private final Map<Long, End> backends = new ConcurrentHashMap<>();
    private final List<End> clients = new ArrayList<>();
    private final List<End> orphanBackends = java.util.Collections.synchronizedList(new ArrayList<>());
    private final CountDownLatch clientsDone;
    private final CountDownLatch backendsDone;
    private final AtomicLong cSent = new AtomicLong();
    private final AtomicLong cRecv = new AtomicLong();
    private final AtomicLong bSent = new AtomicLong();
    private final AtomicLong bRecv = new AtomicLong();

    private TrafficPeer(Map<String, String> opt) {
        host = opt.getOrDefault("host", "127.0.0.1");
        conns = Integer.parseInt(opt.getOrDefault("conns", "1"));
        c2b = Long.parseLong(opt.getOrDefault("c2b", "0"));
        b2c = Long.parseLong(opt.getOrDefault("b2c", "0"));
        order = opt.getOrDefault("order", "concurrent");
        slowRead = Long.parseLong(opt.getOrDefault("slowRead", "0"));
        clientSlowRead = Long.parseLong(opt.getOrDefault("clientSlowRead", "0"));
        clientFinDelayMs = Long.parseLong(opt.getOrDefault("clientFinDelayMs", "0"));
        bufs = Integer.parseInt(opt.getOrDefault("bufs", "0"));
        String rst = opt.get("rst");
        rstSide = rst == null ? null : rst.substring(0, rst.indexOf(':'));
        rstAfter = rst == null ? 0 : Long.parseLong(rst.substring(rst.indexOf(':') + 1));
        reqResp = "reqresp".equals(opt.getOrDefault("mode", "stream"));
        rounds = Integer.parseInt(opt.getOrDefault("rounds", "1"));
        msg = Integer.parseInt(opt.getOrDefault("msg", "1024"));
        seed = Long.parseLong(opt.getOrDefault("seed", "1"));
        waitGo = Boolean.parseBoolean(opt.getOrDefault("waitGo", "false"));
        progressMs = Integer.parseInt(opt.getOrDefault("progressMs", "0"));
        timeoutSec = Integer.parseInt(opt.getOrDefault("timeoutSec", "120"));
        backendDelayMs = Long.parseLong(opt.getOrDefault("backendDelayMs", "0"));
        clientsDone = new CountDownLatch(conns);
        backendsDone = new CountDownLatch(conns);
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = new java.util.LinkedHashMap<>();
        for (String a : args) {
            int eq = a.indexOf('=');
            opt.put(a.substring(0, eq), a.substring(eq + 1));
        }
        TrafficPeer peer = new TrafficPeer(opt);
        int rc = Boolean.parseBoolean(opt.getOrDefault("nio", "false")) ? peer.runNio() : peer.run();
        OUT.flush();
        System.exit(rc);
    }

    private static synchronized void say(String line) {
        OUT.println(line);
        OUT.flush();
    }

    private int run() throws Exception {
        ServerSocket listener = new ServerSocket();
        if (bufs > 0) listener.setReceiveBufferSize(bufs);
        listener.bind(new InetSocketAddress(host, 0), 4096);
        say("PORT " + listener.getLocalPort());

        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line = in.readLine();
        if (line == null || !line.startsWith("PROXY ")) throw new IOException("expected PROXY line, got " + line);
        String[] p = line.split(" ");
        InetSocketAddress proxy = new InetSocketAddress(p[1], Integer.parseInt(p[2]));

        Thread stdin = new Thread(() -> {
            try {
                String l;
                while ((l = in.readLine()) != null) {
                    if (l.equals("GO")) go.countDown();
                }
            } catch (IOException ignored) {
                // parent gone
            }
            // the test JVM went away: never outlive it
            Runtime.getRuntime().halt(3);
        }, "stdin");
        stdin.setDaemon(true);
        stdin.start();

        Thread acceptor = new Thread(() -> {
            for (int i = 0; i < conns; i++) {
                try {
                    Socket s = listener.accept();
                    if (bufs > 0) s.setSendBufferSize(bufs);
                    End b = new End(false, s);
                    b.start();
                } catch (IOException e) {
                    System.err.println("TrafficPeer: accept failed: " + e);
                    return;
                }
            }
        }, "acceptor");
        acceptor.setDaemon(true);
        acceptor.start();

        if (progressMs > 0) {
            long t0 = System.nanoTime();
            Thread prog = new Thread(() -> {
                while (true) {
                    say("PROGRESS ms=" + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0) + " cSent=" + cSent.get()
                            + " cRecv=" + cRecv.get() + " bSent=" + bSent.get() + " bRecv=" + bRecv.get());
                    try {
                        Thread.sleep(progressMs);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "progress");
            prog.setDaemon(true);
            prog.start();
        }

        for (int i = 0; i < conns; i++) {
            Socket s = new Socket();
            if (bufs > 0) {
                s.setSendBufferSize(bufs);
                s.setReceiveBufferSize(bufs);
            }
            s.connect(proxy, 10_000);
            End c = new End(true, s);
            c.id = i;
            clients.add(c);
        }
        say("CONNECTED " + conns);
        for (End c : clients) c.start();

        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSec);
        boolean ok = clientsDone.await(timeoutSec, TimeUnit.SECONDS)
                && backendsDone.await(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        for (End c : clients) {
            End b = backends.get(c.id);
            say("RESULT id=" + c.id + " " + c.describe("c") + " " + (b == null ? missing("b") : b.describe("b")));
        }
        for (End b : orphanBackends) say("ORPHAN " + b.describe("b"));
        say(ok ? "DONE" : "TIMEOUT after " + timeoutSec + " s");
        return ok ? 0 : 2;
    }

    // ==================================================================== many connections: one selector thread

    /**
     * The same protocol with non-blocking sockets on one selector thread, for many connections
     * (thousands of threads are not available everywhere). Stream mode, concurrent order only.
     */
    private int runNio() throws Exception {
        java.nio.channels.ServerSocketChannel listener = java.nio.channels.ServerSocketChannel.open();
        listener.bind(new InetSocketAddress(host, 0), 4096);
        listener.configureBlocking(false);
        say("PORT " + listener.socket().getLocalPort());
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line = in.readLine();
        if (line == null || !line.startsWith("PROXY ")) throw new IOException("expected PROXY line, got " + line);
        String[] p = line.split(" ");
        InetSocketAddress proxy = new InetSocketAddress(p[1], Integer.parseInt(p[2]));
        java.nio.channels.Selector selector = java.nio.channels.Selector.open();
        Thread stdin = new Thread(() -> {
            try {
                String l;
                while ((l = in.readLine()) != null) {
                    if (l.equals("GO")) {
                        go.countDown();
                        selector.wakeup();
                    }
                }
            } catch (IOException ignored) {
                // parent gone
            }
            Runtime.getRuntime().halt(3);
        }, "stdin");
        stdin.setDaemon(true);
        stdin.start();

        List<NioEnd> cl = new ArrayList<>();
        for (int i = 0; i < conns; i++) {
            java.nio.channels.SocketChannel ch = java.nio.channels.SocketChannel.open(proxy);
            ch.configureBlocking(false);
            NioEnd c = new NioEnd(true, ch);
            c.id = i;
            cl.add(c);
        }
        say("CONNECTED " + conns);
        Map<Long, NioEnd> bk = new java.util.HashMap<>();
        List<NioEnd> orphans = new ArrayList<>();
        listener.register(selector, java.nio.channels.SelectionKey.OP_ACCEPT);
        for (NioEnd c : cl) c.key = c.ch.register(selector, java.nio.channels.SelectionKey.OP_READ, c);
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(CHUNK);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSec);
        int open = 2 * conns;
        int accepted = 0;
        boolean started = false;
        while (open > 0 && System.nanoTime() < deadline) {
            selector.select(100);
            if (!started && go.getCount() == 0) {
                started = true;
                for (NioEnd c : cl) c.want(java.nio.channels.SelectionKey.OP_WRITE);
            }
            for (java.nio.channels.SelectionKey k : selector.selectedKeys()) {
                if (!k.isValid()) continue;
                if (k.isAcceptable()) {
                    java.nio.channels.SocketChannel ch;
                    while ((ch = listener.accept()) != null) {
                        ch.configureBlocking(false);
                        NioEnd b = new NioEnd(false, ch);
                        b.key = ch.register(selector, java.nio.channels.SelectionKey.OP_READ, b);
                        accepted++;
                    }
                    continue;
                }
                NioEnd e = (NioEnd) k.attachment();
                try {
                    if (k.isReadable()) e.onReadable(buf);
                    if (e.key.isValid() && e.id >= 0 && !e.client && !e.registered) {
                        e.registered = true;
                        if (bk.putIfAbsent(e.id, e) != null) orphans.add(e);
                        e.want(java.nio.channels.SelectionKey.OP_WRITE);
                    }
                    if (k.isValid() && k.isWritable()) e.onWritable();
                } catch (IOException ex) {
                    e.rerr = e.rerr.equals("running") ? err(ex) : e.rerr;
                    e.werr = e.werr.equals("running") ? err(ex) : e.werr;
                    e.eof = true;
                    e.outShut = true;
                }
                if (e.eof && e.outShut && !e.closed) {
                    e.closed = true;
                    e.ch.close();
                    open--;
                }
            }
            selector.selectedKeys().clear();
        }
        boolean ok = open == 0;
        for (NioEnd c : cl) {
            NioEnd b = bk.get(c.id);
            say("RESULT id=" + c.id + " " + c.describe("c") + " " + (b == null ? missing("b") : b.describe("b")));
        }
        for (NioEnd b : orphans) say("ORPHAN " + b.describe("b"));
        say(ok ? "DONE" : "TIMEOUT after " + timeoutSec + " s (" + open + " sockets open, " + accepted + " accepted)");
        return ok ? 0 : 2;
    }

    /** One end on the selector thread. */
    private final class NioEnd {
        final boolean client;
        final java.nio.channels.SocketChannel ch;
        java.nio.channels.SelectionKey key;
        long id = -1;
        boolean registered;
        final MessageDigest sentMd = sha();
        final MessageDigest recvMd = sha();
        long sent;
        long recv;
        String rerr = "running";
        String werr = "running";
        boolean eof;
        boolean outShut;
        boolean closed;
        private final byte[] header = new byte[8];
        private int headerGot;
        private java.nio.ByteBuffer out;
        private long left = -1;
        private Gen gen;
        private Verifier verifier;

        NioEnd(boolean client, java.nio.channels.SocketChannel ch) {
            this.client = client;
            this.ch = ch;
        }

        void want(int op) {
            key.interestOps(key.interestOps() | op);
        }

        void onReadable(java.nio.ByteBuffer buf) throws IOException {
            for (int round = 0; round < 4; round++) {
                buf.clear();
                int n = ch.read(buf);
                if (n < 0) {
                    eof = true;
                    rerr = "eof";
                    key.interestOps(key.interestOps() & ~java.nio.channels.SelectionKey.OP_READ);
                    return;
                }
                if (n == 0) return;
                byte[] b = buf.array();
                int off = 0;
                if (!client && headerGot < 8) {
                    int h = Math.min(8 - headerGot, n);
                    System.arraycopy(b, 0, header, headerGot, h);
                    headerGot += h;
                    off = h;
                    recvMd.update(b, 0, h);
                    recv += h;
                    if (headerGot == 8) id = java.nio.ByteBuffer.wrap(header).getLong();
                }
                if (n > off) {
                    recvMd.update(b, off, n - off);
                    recv += n - off;
                    byte[] payload = off == 0 ? b : java.util.Arrays.copyOfRange(b, off, n);
                    if (verifier == null) verifier = new Verifier(genFor(id, !client), expectedPayload(client));
                    verifier.check(payload, off == 0 ? n : n - off);
                }
            }
        }

        void onWritable() throws IOException {
            if (left < 0) {
                gen = genFor(id, client);
                left = client ? c2b : b2c;
                if (client) out = java.nio.ByteBuffer.wrap(java.nio.ByteBuffer.allocate(8).putLong(id).array());
                if (out != null) {
                    sentMd.update(out.array());
                }
            }
            while (true) {
                if (out == null || !out.hasRemaining()) {
                    if (left == 0) {
                        ch.shutdownOutput();
                        outShut = true;
                        werr = "ok";
                        key.interestOps(key.interestOps() & ~java.nio.channels.SelectionKey.OP_WRITE);
                        return;
                    }
                    int n = (int) Math.min(CHUNK, left);
                    byte[] chunk = new byte[n];
                    gen.fill(chunk, n);
                    sentMd.update(chunk);
                    left -= n;
                    out = java.nio.ByteBuffer.wrap(chunk);
                }
                int w = ch.write(out);
                sent += w;
                if (out.hasRemaining()) return;
            }
        }

        String describe(String p) {
            return p + ".sent=" + sent + " " + p + ".sentSha=" + hex(sentMd) + " " + p + ".recv=" + recv + " "
                    + p + ".recvSha=" + hex(recvMd) + " " + p + ".rerr=" + rerr + " " + p + ".werr=" + werr
                    + (verifier == null || verifier.firstBad < 0 ? "" : " " + p + ".firstBad=" + verifier.describe());
        }
    }

    /** One end of a connection: a reader thread and a writer thread. */
    private final class End {
        final boolean client;
        final Socket socket;
        volatile long id = -1;
        final MessageDigest sentMd = sha();
        final MessageDigest recvMd = sha();
        volatile long sent;
        volatile long recv;
        volatile String rerr = "running";
        volatile String werr = "running";
        final CountDownLatch headerKnown = new CountDownLatch(1);
        final CountDownLatch eofRead = new CountDownLatch(1);
        final CountDownLatch finished = new CountDownLatch(2);
        Verifier verifier;

        End(boolean client, Socket socket) {
            this.client = client;
            this.socket = socket;
        }

        private Gen gen() {
            return genFor(id, client);
        }

        /** Checks received payload against what the peer end generates, to locate corruption. */
        private void verify(byte[] b, int n) {
            if (verifier == null) verifier = new Verifier(genFor(id, !client), expectedPayload(client));
            verifier.check(b, n);
        }

        void start() {
            if (reqResp) {
                thread(this::reqRespLoop, (client ? "c" : "b") + "-rr").start();
                return;
            }
            thread(this::readLoop, (client ? "c" : "b") + "-r").start();
            thread(this::writeLoop, (client ? "c" : "b") + "-w").start();
        }

        private Thread thread(Runnable r, String name) {
            Thread t = new Thread(null, r, name, 256 * 1024);
            t.setDaemon(true);
            return t;
        }

        private void finishOne() {
            finished.countDown();
            if (finished.getCount() == 0) {
                try {
                    socket.close();
                } catch (IOException ignored) {
                    // done anyway
                }
                if (client) clientsDone.countDown();
                else {
                    if (id < 0) orphanBackends.add(this);
                    backendsDone.countDown();
                }
            }
        }

        // ---------------------------------------------------------------- stream mode

        private void readLoop() {
            try {
                InputStream in = socket.getInputStream();
                byte[] buf = new byte[CHUNK];
                if (!client) readHeader(in);
                long rate = client ? clientSlowRead : slowRead;
                int chunk = rate > 0 ? (int) Math.min(CHUNK, Math.max(4096, rate / 50)) : CHUNK;
                long t0 = System.nanoTime();
                while (true) {
                    int n = in.read(buf, 0, chunk);
                    if (n < 0) break;
                    recvMd.update(buf, 0, n);
                    recv += n;
                    verify(buf, n);
                    (client ? cRecv : bRecv).addAndGet(n);
                    if (rate > 0) {
                        long dueNanos = (long) (recv * 1e9 / rate);
                        long ahead = dueNanos - (System.nanoTime() - t0);
                        if (ahead > 0) TimeUnit.NANOSECONDS.sleep(ahead);
                    }
                }
                rerr = "eof";
            } catch (IOException | InterruptedException e) {
                rerr = err(e);
            } finally {
                headerKnown.countDown();
                eofRead.countDown();
                finishOne();
            }
        }

        /** Backend: the first 8 bytes are the client's connection id. */
        private void readHeader(InputStream in) throws IOException {
            byte[] h = new byte[8];
            readFully(in, h, 8);
            recvMd.update(h);
            recv += 8;
            bRecv.addAndGet(8);
            id = java.nio.ByteBuffer.wrap(h).getLong();
            End prev = backends.putIfAbsent(id, this);
            if (prev != null) orphanBackends.add(this);
            headerKnown.countDown();
        }

        private void writeLoop() {
            try {
                OutputStream out = socket.getOutputStream();
                if (client) {
                    if (waitGo) go.await();
                    byte[] h = java.nio.ByteBuffer.allocate(8).putLong(id).array();
                    write(out, h, 8);
                    if (order.equals("backend-first")) eofRead.await();
                } else {
                    headerKnown.await();
                    if (id < 0) throw new EOFException("no header");
                    if (order.equals("client-first")) eofRead.await();
                    if (backendDelayMs > 0) Thread.sleep(backendDelayMs);
                }
                String me = client ? "client" : "backend";
                boolean resetter = me.equals(rstSide);
                long total = rstSide == null ? (client ? c2b : b2c) : resetter ? rstAfter : Long.MAX_VALUE;
                Gen g = gen();
                byte[] buf = new byte[CHUNK];
                long left = total;
                while (left > 0) {
                    int n = (int) Math.min(CHUNK, left);
                    g.fill(buf, n);
                    write(out, buf, n);
                    left -= n;
                }
                if (resetter) {
                    say("RST " + id + " " + me);
                    socket.setSoLinger(true, 0);
                    socket.close();
                    werr = "rst-sent";
                } else {
                    if (client && clientFinDelayMs > 0) Thread.sleep(clientFinDelayMs);
                    socket.shutdownOutput();
                    werr = "ok";
                }
            } catch (IOException | InterruptedException e) {
                werr = err(e);
            } finally {
                finishOne();
            }
        }

        private void write(OutputStream out, byte[] b, int n) throws IOException {
            out.write(b, 0, n);
            sentMd.update(b, 0, n);
            sent += n;
            (client ? cSent : bSent).addAndGet(n);
        }

        // ---------------------------------------------------------------- request/response mode

        private void reqRespLoop() {
            try {
                InputStream in = socket.getInputStream();
                OutputStream out = socket.getOutputStream();
                Gen g = gen();
                byte[] buf = new byte[Math.max(msg, CHUNK)];
                if (client) {
                    if (waitGo) go.await();
                    write(out, java.nio.ByteBuffer.allocate(8).putLong(id).array(), 8);
                    for (int r = 0; r < rounds; r++) {
                        g.fill(buf, msg);
                        write(out, buf, msg);
                        readFully(in, buf, msg);
                        verify(buf, msg);
                        recvMd.update(buf, 0, msg);
                        recv += msg;
                        cRecv.addAndGet(msg);
                    }
                    socket.shutdownOutput();
                    werr = "ok";
                    readToEof(in, buf);
                } else {
                    readHeader(in);
                    while (true) {
                        int got = readUpTo(in, buf, msg);
                        if (got > 0) {
                            verify(buf, got);
                            recvMd.update(buf, 0, got);
                            recv += got;
                            bRecv.addAndGet(got);
                        }
                        if (got < msg) break; // EOF
                        g.fill(buf, msg);
                        write(out, buf, msg);
                    }
                    socket.shutdownOutput();
                    werr = "ok";
                    rerr = "eof";
                }
            } catch (IOException | InterruptedException e) {
                if (werr.equals("running")) werr = err(e);
                rerr = err(e);
            } finally {
                headerKnown.countDown();
                eofRead.countDown();
                finishOne();
                finishOne();
            }
        }

        private void readToEof(InputStream in, byte[] buf) throws IOException {
            int n;
            while ((n = in.read(buf)) >= 0) {
                recvMd.update(buf, 0, n);
                recv += n;
                cRecv.addAndGet(n);
            }
            rerr = "eof";
        }

        String describe(String p) {
            return p + ".sent=" + sent + " " + p + ".sentSha=" + hex(sentMd) + " " + p + ".recv=" + recv + " "
                    + p + ".recvSha=" + hex(recvMd) + " " + p + ".rerr=" + rerr + " " + p + ".werr=" + werr
                    + (verifier == null || verifier.firstBad < 0 ? "" : " " + p + ".firstBad=" + verifier.describe());
        }
    }

    /** Payload bytes the receiving end expects (without the id header), -1 when endless (reset tests). */
    private long expectedPayload(boolean receiverIsClient) {
        if (rstSide != null) return -1;
        if (reqResp) return (long) rounds * msg;
        return receiverIsClient ? b2c : c2b;
    }

    private Gen genFor(long connId, boolean clientSide) {
        return new Gen(seed * 1_000_003L + connId * 2 + (clientSide ? 0 : 1));
    }

    /**
     * Compares a received payload stream with the generator's output (which the sender writes in
     * 64 KiB chunks, so the stream is the generator's continuous output); records the first
     * differing offset, and where nearby in the expected stream the received bytes were found.
     */
    static final class Verifier {
        private static final int CH = 65536;
        private static final int MAX_HISTORY = 256 * CH; // 16 MiB of expected bytes, ring of whole chunks
        private static final int AHEAD = 64 * CH;        // generated beyond the checked offset (4 MiB)
        private final Gen gen;
        private final byte[] history;
        private final long limit;  // expected bytes (all generated up front when they fit), or MAX_VALUE
        private final int ahead;
        private long off;       // payload bytes checked so far
        private long generated; // expected bytes generated so far
        long firstBad = -1;
        String detail = "";

        /** @param expected payload bytes expected, or -1 if unknown */
        Verifier(Gen gen, long expected) {
            this.gen = gen;
            if (expected >= 0 && expected <= MAX_HISTORY - AHEAD) {
                int r = (int) Math.max(CH, (expected + CH - 1) / CH * CH);
                history = new byte[r];
                limit = expected;
                ahead = r;
            } else {
                history = new byte[MAX_HISTORY];
                limit = Long.MAX_VALUE;
                ahead = AHEAD;
            }
        }

        void check(byte[] b, int n) {
            if (firstBad >= 0) {
                off += n;
                return;
            }
            if (off + n > limit) {
                firstBad = Math.max(off, limit);
                detail = "moreThanExpected";
                off += n;
                return;
            }
            while (generated < off + n + ahead && generated + CH <= (long) history.length + off) {
                gen.fillAt(history, (int) (generated % history.length), CH);
                generated += CH;
            }
            int i = 0;
            while (i < n) {
                int at = (int) ((off + i) % history.length);
                int len = Math.min(n - i, history.length - at);
                int mm = java.util.Arrays.mismatch(history, at, at + len, b, i, i + len);
                if (mm >= 0) {
                    firstBad = off + i + mm;
                    detail = locate(b, i + mm, Math.min(n - i - mm, 64));
                    break;
                }
                i += len;
            }
            off += n;
        }

        /** Finds the bad bytes elsewhere in the expected stream (history window) to tell duplication from loss. */
        private String locate(byte[] b, int at, int len) {
            if (len < 16) return "shortRun";
            long lo = Math.max(0, generated - history.length);
            for (long p = lo; p + len <= generated; p++) {
                boolean same = true;
                for (int k = 0; k < len && same; k++) same = history[(int) ((p + k) % history.length)] == b[at + k];
                if (same) return "foundAtExpectedOffset" + p + "_shift" + (p - firstBad);
            }
            return "notInExpectedWindow";
        }

        String describe() {
            return firstBad + "_" + detail;
        }
    }

    private static String missing(String p) {
        return p + ".sent=-1 " + p + ".sentSha=- " + p + ".recv=-1 " + p + ".recvSha=- " + p + ".rerr=missing " + p + ".werr=missing";
    }

    private static String hex(MessageDigest md) {
        try {
            return HexFormat.of().formatHex(((MessageDigest) md.clone()).digest());
        } catch (CloneNotSupportedException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String err(Exception e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return m.replaceAll("[^A-Za-z0-9]+", "_");
    }

    private static MessageDigest sha() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static void readFully(InputStream in, byte[] b, int n) throws IOException {
        int got = readUpTo(in, b, n);
        if (got < n) throw new EOFException("EOF after " + got + " of " + n + " bytes");
    }

    static int readUpTo(InputStream in, byte[] b, int n) throws IOException {
        int off = 0;
        while (off < n) {
            int r = in.read(b, off, n - off);
            if (r < 0) break;
            off += r;
        }
        return off;
    }

    /** Deterministic pseudo-random bytes (xorshift64*), little-endian longs; a partial last long is cut. */
    static final class Gen {
        private static final java.lang.invoke.VarHandle LONGS =
                java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.LITTLE_ENDIAN);
        private long x;

        Gen(long seed) {
            x = seed == 0 ? 0x9E3779B97F4A7C15L : seed ^ 0x9E3779B97F4A7C15L;
        }

        private long next() {
            x ^= x >>> 12;
            x ^= x << 25;
            x ^= x >>> 27;
            return x * 0x2545F4914F6CDD1DL;
        }

        void fill(byte[] b, int n) {
            fillAt(b, 0, n);
        }

        void fillAt(byte[] b, int from, int n) {
            int i = from;
            int end = from + n;
            for (; i + 8 <= end; i += 8) LONGS.set(b, i, next());
            if (i < end) {
                long v = next();
                for (; i < end; i++) {
                    b[i] = (byte) v;
                    v >>>= 8;
                }
            }
        }
    }
}
