package io.sockmap.it.relays;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Blocking {@code SocketChannel}s, two threads per connection, each copying one direction through
 * a 32 KiB heap {@code ByteBuffer} ({@code clear}, {@code read}, {@code flip}, {@code write} until
 * empty). EOF: {@code shutdownOutput()}; both done: close.
 */
public final class BlockingChannelRelay {
    private BlockingChannelRelay() {}

    public static void main(String[] args) throws IOException {
        RelayArgs a = new RelayArgs(args);
        ServerSocketChannel server = ServerSocketChannel.open();
        server.bind(new InetSocketAddress("127.0.0.1", a.listen()));
        System.out.println("listening on " + server.socket().getLocalPort());
        System.out.flush();
        while (true) {
            SocketChannel c = server.accept();
            SocketChannel u;
            try {
                u = SocketChannel.open(a.target());
            } catch (IOException e) {
                c.close();
                continue;
            }
            AtomicInteger running = new AtomicInteger(2);
            start(c, u, running);
            start(u, c, running);
        }
    }

    private static void start(SocketChannel from, SocketChannel to, AtomicInteger running) {
        Thread t = new Thread(() -> {
            ByteBuffer buf = ByteBuffer.allocate(32 * 1024);
            try {
                while (true) {
                    buf.clear();
                    if (from.read(buf) < 0) break;
                    buf.flip();
                    while (buf.hasRemaining()) to.write(buf);
                }
                to.shutdownOutput();
                if (running.decrementAndGet() == 0) {
                    from.close();
                    to.close();
                }
            } catch (IOException e) {
                try {
                    from.close();
                    to.close();
                } catch (IOException ignored) {
                    // closing
                }
            }
        });
        t.setDaemon(true);
        t.start();
    }
}
