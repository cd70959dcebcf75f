package io.sockmap.it.relays;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;

/**
 * One selector thread; per connection one 8 KiB direct buffer per direction, filled by reading
 * the source, flipped, written to the other side, then {@code compact()}ed: unwritten bytes move
 * to the start of the buffer. Upstream is connected blocking. EOF: half-close once the buffer is
 * empty.
 */
public final class CompactSelectorRelay {
    private CompactSelectorRelay() {}

    public static void main(String[] args) throws IOException {
        RelayArgs a = new RelayArgs(args);
        Selector selector = Selector.open();
        ServerSocketChannel server = ServerSocketChannel.open();
        server.bind(new InetSocketAddress("127.0.0.1", a.listen()));
        server.configureBlocking(false);
        server.register(selector, SelectionKey.OP_ACCEPT);
        System.out.println("listening on " + server.socket().getLocalPort());
        System.out.flush();
        while (true) {
            selector.select();
            for (SelectionKey key : selector.selectedKeys()) {
                if (!key.isValid()) continue;
                if (key.isAcceptable()) {
                    SocketChannel c = server.accept();
                    if (c == null) continue;
                    SocketChannel u = SocketChannel.open(a.target());
                    c.configureBlocking(false);
                    u.configureBlocking(false);
                    Side cs = new Side(c);
                    Side us = new Side(u);
                    cs.peer = us;
                    us.peer = cs;
                    cs.key = c.register(selector, SelectionKey.OP_READ, cs);
                    us.key = u.register(selector, SelectionKey.OP_READ, us);
                } else {
                    ((Side) key.attachment()).ready(key);
                }
            }
            selector.selectedKeys().clear();
        }
    }

    /** One channel and the buffer of bytes read from it, not yet written to the peer. */
    static final class Side {
        final SocketChannel ch;
        final ByteBuffer in = ByteBuffer.allocateDirect(8192);
        Side peer;
        SelectionKey key;
        boolean eof;
        boolean outShut;

        Side(SocketChannel ch) { this.ch = ch; }

        void ready(SelectionKey k) {
            try {
                if (k.isReadable()) {
                    if (ch.read(in) < 0) eof = true;
                    flush();
                }
                if (k.isValid() && k.isWritable()) peer.flush();
                if (eof && outShut && peer.eof && peer.outShut) {
                    ch.close();
                    peer.ch.close();
                    return;
                }
                update();
                peer.update();
            } catch (IOException e) {
                try {
                    ch.close();
                    peer.ch.close();
                } catch (IOException ignored) {
                    // closing
                }
            }
        }

        /** Writes this side's buffered bytes to the peer. */
        void flush() throws IOException {
            in.flip();
            peer.ch.write(in);
            in.compact();
            if (eof && in.position() == 0 && !peer.outShut) {
                peer.ch.shutdownOutput();
                peer.outShut = true;
            }
        }

        void update() {
            if (!key.isValid()) return;
            int ops = (!eof && in.hasRemaining() ? SelectionKey.OP_READ : 0)
                    | (peer.in.position() > 0 ? SelectionKey.OP_WRITE : 0);
            key.interestOps(ops);
        }
    }
}
