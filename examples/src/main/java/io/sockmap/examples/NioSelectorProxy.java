package io.sockmap.examples;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayDeque;
import java.util.Iterator;

/**
 * A single-threaded, non-blocking NIO proxy: one {@link Selector} thread accepts, connects
 * upstream without blocking, and relays both directions. Each read fills a fresh
 * {@code ByteBuffer} that is queued and written to the other channel as soon as it accepts bytes,
 * possibly much later and in pieces ({@code OP_WRITE}); while a direction has more than 256 KiB
 * queued, its source is not read ({@code OP_READ} off), so a slow peer slows the sender down.
 *
 * <p>EOF is propagated as a half-close ({@code shutdownOutput()} on the other channel once its
 * queue is written); both channels are closed when both directions ended, or on any error.
 *
 * <pre>
 * java -cp sockmap-examples.jar io.sockmap.examples.NioSelectorProxy --listen 9000 --target 127.0.0.1:9001
 * java -javaagent:sockmap-agent.jar -cp sockmap-examples.jar io.sockmap.examples.NioSelectorProxy ...
 * </pre>
 *
 * Prints {@code listening on <port>} when ready.
 */
public final class NioSelectorProxy implements AutoCloseable {
    private static final int MAX_QUEUED = 256 * 1024;

    private final AbstractProxy.Config config;
    private final Selector selector;
    private final ServerSocketChannel server;
    private volatile boolean closed;

    NioSelectorProxy(AbstractProxy.Config config) throws IOException {
        this.config = config;
        this.selector = Selector.open();
        this.server = ServerSocketChannel.open();
        server.setOption(StandardSocketOptions.SO_REUSEADDR, true);
        server.bind(new InetSocketAddress(config.bind, config.listen), AbstractServer.BACKLOG);
        server.configureBlocking(false);
        server.register(selector, SelectionKey.OP_ACCEPT);
    }

    public static void main(String[] args) {
        Cli.main(AbstractProxy.usage("NioSelectorProxy",
                        "Relays every connection on one Selector thread with non-blocking SocketChannels."),
                args, AbstractProxy.OPTIONS, AbstractProxy.FLAGS, cli -> {
                    NioSelectorProxy proxy = new NioSelectorProxy(AbstractProxy.Config.parse(cli));
                    Runtime.getRuntime().addShutdownHook(new Thread(proxy::close, "NioSelectorProxy-shutdown"));
                    System.out.println("listening on " + proxy.port());
                    System.out.flush();
                    proxy.run();
                    return 0;
                });
    }

    /** Starts a proxy on a daemon thread; the caller closes it. */
    public static NioSelectorProxy launch(String... args) throws IOException {
        NioSelectorProxy proxy = new NioSelectorProxy(AbstractProxy.Config.parse(args));
        Thread t = new Thread(proxy::run, "NioSelectorProxy");
        t.setDaemon(true);
        t.start();
        return proxy;
    }

    public int port() {
        return server.socket().getLocalPort();
    }

    @Override
    public void close() {
        closed = true;
        selector.wakeup();
    }

    /** The selector loop; returns when closed. */
    void run() {
        try {
            while (!closed) {
                selector.select();
                Iterator<SelectionKey> it = selector.selectedKeys().iterator();
                while (it.hasNext()) {
                    SelectionKey key = it.next();
                    it.remove();
                    if (!key.isValid()) continue;
                    if (key.channel() == server) {
                        accept();
                    } else {
                        ((Connection) key.attachment()).ready(key);
                    }
                }
            }
        } catch (IOException e) {
            System.err.println("NioSelectorProxy: selector failed: " + e);
        } finally {
            for (SelectionKey k : selector.keys()) closeQuietly(k.channel());
            closeQuietly(selector);
        }
    }

    private void accept() throws IOException {
        SocketChannel client;
        while ((client = server.accept()) != null) {
            Connection c = new Connection(client);
            try {
                client.configureBlocking(false);
                client.setOption(StandardSocketOptions.TCP_NODELAY, true);
                c.upstream = SocketChannel.open();
                c.upstream.configureBlocking(false);
                c.upstream.setOption(StandardSocketOptions.TCP_NODELAY, true);
                c.clientKey = client.register(selector, 0, c);
                c.upstreamKey = c.upstream.register(selector, 0, c);
                if (c.upstream.connect(config.target)) {
                    c.connected();
                } else {
                    c.upstreamKey.interestOps(SelectionKey.OP_CONNECT);
                }
            } catch (IOException e) {
                if (config.verbose) System.err.println("NioSelectorProxy: cannot connect to " + config.target + ": " + e);
                c.close();
            }
        }
    }

    /** One direction: bytes read from {@code from}, queued for {@code to}. */
    private final class Direction {
        final SocketChannel from;
        final SocketChannel to;
        final ArrayDeque<ByteBuffer> queue = new ArrayDeque<>();
        int queued;
        boolean eof;
        boolean done;

        Direction(SocketChannel from, SocketChannel to) {
            this.from = from;
            this.to = to;
        }

        /** Reads what {@code from} has; false at EOF. */
        void read() throws IOException {
            while (!eof && queued < MAX_QUEUED) {
                ByteBuffer b = ByteBuffer.allocate(config.bufferSize);
                int n = from.read(b);
                if (n < 0) {
                    eof = true;
                } else if (n == 0) {
                    return;
                } else {
                    b.flip();
                    queue.add(b);
                    queued += n;
                }
            }
        }

        /** Writes what {@code to} takes; half-closes it once the queue is empty after EOF. */
        void write() throws IOException {
            ByteBuffer head;
            while ((head = queue.peek()) != null) {
                int n = to.write(head);
                queued -= n;
                if (head.hasRemaining()) return;
                queue.poll();
            }
            if (eof && !done) {
                done = true;
                to.shutdownOutput();
            }
        }

        boolean wantsRead() { return !eof && queued < MAX_QUEUED; }

        boolean wantsWrite() { return !queue.isEmpty(); }
    }

    private final class Connection {
        final SocketChannel client;
        SocketChannel upstream;
        SelectionKey clientKey;
        SelectionKey upstreamKey;
        Direction up;
        Direction down;

        Connection(SocketChannel client) {
            this.client = client;
        }

        void connected() throws IOException {
            up = new Direction(client, upstream);
            down = new Direction(upstream, client);
            update();
        }

        void ready(SelectionKey key) {
            try {
                if (key.isConnectable()) {
                    upstream.finishConnect();
                    connected();
                    return;
                }
                if (key.isReadable()) {
                    Direction d = key == clientKey ? up : down;
                    d.read();
                    d.write();
                }
                if (key.isValid() && key.isWritable()) {
                    (key == clientKey ? down : up).write();
                }
                if (up.done && down.done) {
                    close();
                } else {
                    update();
                }
            } catch (IOException e) {
                if (config.verbose) System.err.println("NioSelectorProxy: relay failed: " + e);
                close();
            }
        }

        private void update() {
            clientKey.interestOps((up.wantsRead() ? SelectionKey.OP_READ : 0) | (down.wantsWrite() ? SelectionKey.OP_WRITE : 0));
            upstreamKey.interestOps((down.wantsRead() ? SelectionKey.OP_READ : 0) | (up.wantsWrite() ? SelectionKey.OP_WRITE : 0));
        }

        void close() {
            closeQuietly(client);
            closeQuietly(upstream);
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            if (c != null) c.close();
        } catch (Exception ignored) {
            // closing anyway
        }
    }
}
