package io.sockmap.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The request/response backend of the benchmark: answers every request of {@code --size} bytes
 * (default 1024) with the same bytes, like {@code Backend --mode reqresp}, but with a few selector
 * threads instead of a thread per connection, so that 10,000 direct connections measure the
 * network path and not a scheduler of 10,000 threads. At EOF it closes the connection.
 *
 * <pre>java -cp sockmap-bench.jar io.sockmap.bench.ReqRespServer [--listen PORT] [--size N] [--threads N]</pre>
 *
 * Prints {@code listening on <port>} when ready.
 */
public final class ReqRespServer {

    private ReqRespServer() {
    }

    public static void main(String[] args) throws IOException {
        int port = 0;
        int size = 1024;
        int threads = Runtime.getRuntime().availableProcessors();
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--listen" -> port = Integer.parseInt(args[i + 1]);
                case "--size" -> size = Integer.parseInt(args[i + 1]);
                case "--threads" -> threads = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        ServerSocketChannel server = ServerSocketChannel.open();
        server.bind(new InetSocketAddress("127.0.0.1", port), 4096);
        List<Loop> loops = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            Loop loop = new Loop(i, size);
            loops.add(loop);
            loop.start();
        }
        System.out.println("listening on " + server.socket().getLocalPort());
        System.out.flush();
        for (int next = 0; ; next = (next + 1) % loops.size()) {
            SocketChannel ch = server.accept();
            ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
            ch.configureBlocking(false);
            loops.get(next).hand(ch);
        }
    }

    /** One selector thread and its connections; each connection owns one buffer of {@code size} bytes. */
    private static final class Loop extends Thread {
        private final Selector selector;
        private final Queue<SocketChannel> incoming = new ConcurrentLinkedQueue<>();
        private final int size;

        Loop(int index, int size) throws IOException {
            super("reqresp-loop-" + index);
            setDaemon(true);
            this.selector = Selector.open();
            this.size = size;
        }

        void hand(SocketChannel ch) {
            incoming.add(ch);
            selector.wakeup();
        }

        @Override
        public void run() {
            try {
                for (;;) {
                    selector.select();
                    for (SocketChannel ch; (ch = incoming.poll()) != null; ) {
                        ch.register(selector, SelectionKey.OP_READ, ByteBuffer.allocate(size));
                    }
                    for (SelectionKey key : selector.selectedKeys()) {
                        serve(key);
                    }
                    selector.selectedKeys().clear();
                }
            } catch (IOException e) {
                System.err.println("reqresp loop: " + e);
            }
        }

        private static void serve(SelectionKey key) {
            SocketChannel ch = (SocketChannel) key.channel();
            ByteBuffer buf = (ByteBuffer) key.attachment();
            try {
                if (key.isValid() && key.isWritable()) {
                    ch.write(buf);
                    if (buf.hasRemaining()) {
                        return;
                    }
                    buf.clear();
                    key.interestOps(SelectionKey.OP_READ);
                }
                if (key.isValid() && key.isReadable()) {
                    for (;;) {
                        int n = ch.read(buf);
                        if (n < 0) {
                            ch.close();
                            return;
                        }
                        if (buf.hasRemaining()) {
                            return;   // n == 0: wait for the rest of the request
                        }
                        buf.flip();
                        ch.write(buf);
                        if (buf.hasRemaining()) {
                            key.interestOps(SelectionKey.OP_WRITE);
                            return;
                        }
                        buf.clear();
                    }
                }
            } catch (IOException e) {
                try {
                    ch.close();
                } catch (IOException ignored) {
                    // closing anyway
                }
            }
        }
    }
}
