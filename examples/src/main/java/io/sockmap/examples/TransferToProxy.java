package io.sockmap.examples;

import java.io.IOException;
import java.net.Socket;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The shortest correct blocking proxy: two platform threads per connection, each direction is
 * {@code in.transferTo(out)} followed by {@code shutdownOutput()} on the destination socket
 * (half-close propagated). When both directions have finished both sockets are closed; an
 * {@code IOException} in either direction closes both.
 *
 * <pre>
 * java -cp sockmap-examples.jar io.sockmap.examples.TransferToProxy --listen 9000 --target 127.0.0.1:9001
 * </pre>
 *
 * Prints {@code listening on <port>} when ready. {@code --buffer} is accepted but unused
 * ({@code transferTo} brings its own buffer).
 */
public final class TransferToProxy extends AbstractProxy {

    private final AtomicLong ids = new AtomicLong();

    TransferToProxy(Config config) {
        super("TransferToProxy", config);
    }

    /**
     * Starts a proxy in this JVM with the command-line options of {@link #main}; the caller
     * closes it.
     *
     * @throws IllegalArgumentException on a bad option
     */
    public static TransferToProxy launch(String... args) throws IOException {
        TransferToProxy proxy = new TransferToProxy(Config.parse(args));
        proxy.start();
        return proxy;
    }

    public static void main(String[] args) {
        Cli.main(usage("TransferToProxy", "Relays each connection with two platform threads doing InputStream.transferTo."),
                args, OPTIONS, FLAGS, cli -> new TransferToProxy(Config.parse(cli)).serveForever());
    }

    @Override
    protected void accepted(Socket client) {
        Connection c = track(client);
        long id = ids.incrementAndGet();
        Thread t = new Thread(() -> {
            Socket upstream = connectUpstream(c);
            if (upstream == null) {
                return;
            }
            Thread down = new Thread(() -> transfer(c, upstream, c.client), "transfer-" + id + "-down");
            down.setDaemon(true);
            try {
                down.start();
            } catch (OutOfMemoryError e) {   // "unable to create native thread"
                log("cannot start a relay thread: " + e.getMessage());
                c.close();
                return;
            }
            transfer(c, c.client, upstream);
        }, "transfer-" + id + "-up");
        t.setDaemon(true);
        t.start();
    }

    private void transfer(Connection c, Socket from, Socket to) {
        try {
            from.getInputStream().transferTo(to.getOutputStream());
            to.shutdownOutput();
            c.directionDone();
        } catch (IOException e) {
            relayFailed(c, e);
            c.close();
        }
    }
}
