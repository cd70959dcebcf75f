package io.sockmap.it.relays;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Blocking relays written the way other people write them, in styles the examples do not cover:
 * stand-ins for the held-out proxies the agent must splice without knowing them. Run in a child
 * JVM (JDK classes only) with {@code -javaagent:sockmap-agent.jar}:
 *
 * <pre>
 * java -cp it-tests/target/test-classes io.sockmap.it.relays.TestRelay STYLE --listen 0 --target HOST:PORT [--so-timeout MS] [--reap-after MS]
 * </pre>
 *
 * Styles (each propagates a half-close with {@code shutdownOutput()} and closes both sockets once
 * both directions ended, or on the first error):
 * <ul>
 *   <li>{@code buffered}: {@code BufferedInputStream}/{@code BufferedOutputStream} (8 KiB) around
 *       the socket streams, a 4 KiB copy buffer (so every byte is copied through both streams'
 *       buffers), {@code flush()} after each write;
 *   <li>{@code framed}: {@code DataInputStream.readNBytes} of fixed 24 KiB frames (several socket
 *       reads per frame), each frame written as read, the last one shorter;
 *   <li>{@code pool}: the two directions are tasks of a fixed {@code ExecutorService}; the first
 *       bytes are copied one at a time with {@code read()}/{@code write(int)}, then
 *       {@code read(buf, 7, len)} into an offset of the buffer;
 *   <li>{@code transferto-buffered}: {@code in.transferTo(new BufferedOutputStream(out))}, then
 *       {@code flush()};
 *   <li>{@code handshake}: the connection thread writes {@link #UPSTREAM_HEADER} to the upstream,
 *       reads a {@link #GREETING_BYTES}-byte greeting from the client and answers {@link #WELCOME},
 *       then starts one new thread per direction (plain copy loops) and returns;
 *   <li>{@code closeboth}: the thread-pair copy loop, but the first EOF closes both sockets (a
 *       relay that does not support half-close);
 *   <li>{@code timeout}: the thread-pair copy loop with {@code setSoTimeout} on both sockets; a
 *       {@code SocketTimeoutException} is an idle connection: both sockets are closed.
 * </ul>
 * {@code --reap-after MS}: an idle reaper closes both sockets that long after accept, from its
 * own thread. Prints {@code listening on <port>}, and {@code relay exited <direction>} when a relay
 * direction's code returns, {@code relay timed out} on an idle timeout.
 */
public final class TestRelay {
    /** {@code handshake}: written to the upstream first, read from the client, answered to the client. */
    public static final byte[] UPSTREAM_HEADER = "PROXY TCP4 127.0.0.1\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    public static final int GREETING_BYTES = 16;
    public static final byte[] WELCOME = "WELCOME\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    private final String style;
    private final InetSocketAddress target;
    private final int soTimeout;
    private final long reapAfter;
    private final ExecutorService pool = Executors.newFixedThreadPool(64);
    private final ScheduledExecutorService reaper = Executors.newSingleThreadScheduledExecutor();

    private TestRelay(String style, InetSocketAddress target, int soTimeout, long reapAfter) {
        this.style = style;
        this.target = target;
        this.soTimeout = soTimeout;
        this.reapAfter = reapAfter;
    }

    public static void main(String[] args) throws Exception {
        String style = args[0];
        InetSocketAddress target = null;
        int soTimeout = 0;
        long reapAfter = 0;
        for (int i = 1; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--listen" -> { } // always ephemeral
                case "--target" -> {
                    String[] hp = args[i + 1].split(":");
                    target = new InetSocketAddress(hp[0], Integer.parseInt(hp[1]));
                }
                case "--so-timeout" -> soTimeout = Integer.parseInt(args[i + 1]);
                case "--reap-after" -> reapAfter = Long.parseLong(args[i + 1]);
                default -> throw new IllegalArgumentException(args[i]);
            }
        }
        new TestRelay(style.toLowerCase(Locale.ROOT), target, soTimeout, reapAfter).serve();
    }

    private void serve() throws IOException {
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            System.out.println("listening on " + server.getLocalPort());
            System.out.flush();
            for (;;) {
                Socket client = server.accept();
                Thread t = new Thread(() -> connect(client), "relay-connect");
                t.setDaemon(true);
                t.start();
            }
        }
    }

    /** One proxied connection: both sockets, closed once both directions ended or on an error. */
    private static final class Conn {
        final Socket client;
        final Socket upstream;
        final AtomicInteger running = new AtomicInteger(2);
        final AtomicBoolean closed = new AtomicBoolean();

        Conn(Socket client, Socket upstream) {
            this.client = client;
            this.upstream = upstream;
        }

        void directionDone() {
            if (running.decrementAndGet() == 0) close();
        }

        void close() {
            if (!closed.compareAndSet(false, true)) return;
            for (Socket s : new Socket[] {client, upstream}) {
                try {
                    s.close();
                } catch (IOException ignored) {
                    // closing anyway
                }
            }
        }
    }

    private void connect(Socket client) {
        Socket upstream = new Socket();
        try {
            upstream.connect(target, 10_000);
            if (soTimeout > 0) {
                client.setSoTimeout(soTimeout);
                upstream.setSoTimeout(soTimeout);
            }
        } catch (IOException e) {
            System.out.println("connect failed: " + e);
            try {
                client.close();
                upstream.close();
            } catch (IOException ignored) {
                // nothing to add
            }
            return;
        }
        Conn c = new Conn(client, upstream);
        if (reapAfter > 0) reaper.schedule(c::close, reapAfter, TimeUnit.MILLISECONDS);
        if (style.equals("handshake")) {
            // the connection thread talks first, then hands both directions to new threads
            try {
                upstream.getOutputStream().write(UPSTREAM_HEADER);
                byte[] greeting = client.getInputStream().readNBytes(GREETING_BYTES);
                if (greeting.length != GREETING_BYTES) throw new IOException("short greeting");
                client.getOutputStream().write(WELCOME);
            } catch (IOException e) {
                c.close();
                return;
            }
            for (boolean up : new boolean[] {true, false}) {
                Thread t = new Thread(() -> run(c, up ? client : upstream, up ? upstream : client, up ? "up" : "down"),
                        "relay-" + (up ? "up" : "down"));
                t.setDaemon(true);
                t.start();
            }
            return;
        }
        if (style.equals("pool")) {
            pool.execute(() -> run(c, upstream, client, "down"));
            pool.execute(() -> run(c, client, upstream, "up"));
            return;
        }
        Thread down = new Thread(() -> run(c, upstream, client, "down"), "relay-down");
        down.setDaemon(true);
        down.start();
        run(c, client, upstream, "up");
    }

    private void run(Conn c, Socket from, Socket to, String direction) {
        try {
            switch (style) {
                case "buffered" -> buffered(from, to);
                case "framed" -> framed(from, to);
                case "pool" -> byteThenOffset(from, to);
                case "transferto-buffered" -> transferToBuffered(from, to);
                case "timeout", "handshake", "closeboth" -> plain(from, to);
                default -> throw new IllegalArgumentException("unknown style " + style);
            }
            if (style.equals("closeboth")) {
                c.close(); // not half-close capable: the first EOF ends the connection
            } else {
                to.shutdownOutput();
                c.directionDone();
            }
        } catch (SocketTimeoutException e) {
            System.out.println("relay timed out " + direction);
            c.close();
        } catch (IOException e) {
            c.close();
        } finally {
            System.out.println("relay exited " + direction);
            System.out.flush();
        }
    }

    private static void buffered(Socket from, Socket to) throws IOException {
        InputStream in = new BufferedInputStream(from.getInputStream(), 8192);
        OutputStream out = new BufferedOutputStream(to.getOutputStream(), 8192);
        byte[] buf = new byte[4096];
        int n;
        while ((n = in.read(buf)) != -1) {
            out.write(buf, 0, n);
            out.flush();
        }
    }

    private static void framed(Socket from, Socket to) throws IOException {
        DataInputStream in = new DataInputStream(from.getInputStream());
        OutputStream out = to.getOutputStream();
        byte[] frame = new byte[24 * 1024];
        int n;
        while ((n = in.readNBytes(frame, 0, frame.length)) > 0) {
            out.write(frame, 0, n);
        }
    }

    private static void byteThenOffset(Socket from, Socket to) throws IOException {
        InputStream in = from.getInputStream();
        OutputStream out = to.getOutputStream();
        for (int i = 0; i < 64; i++) {
            int b = in.read();
            if (b < 0) return;
            out.write(b);
        }
        byte[] buf = new byte[16 * 1024 + 7];
        int n;
        while ((n = in.read(buf, 7, buf.length - 7)) != -1) {
            out.write(buf, 7, n);
        }
    }

    private static void transferToBuffered(Socket from, Socket to) throws IOException {
        OutputStream out = new BufferedOutputStream(to.getOutputStream());
        from.getInputStream().transferTo(out);
        out.flush();
    }

    private static void plain(Socket from, Socket to) throws IOException {
        InputStream in = from.getInputStream();
        OutputStream out = to.getOutputStream();
        byte[] buf = new byte[16 * 1024];
        int n;
        while ((n = in.read(buf)) != -1) {
            out.write(buf, 0, n);
        }
    }
}
