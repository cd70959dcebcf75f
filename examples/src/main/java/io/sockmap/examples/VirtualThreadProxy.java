package io.sockmap.examples;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.util.concurrent.ThreadFactory;

/**
 * The thread-pair proxy on virtual threads (JDK 21+): one virtual thread per connection connects
 * to the target and copies client to upstream, a second one copies upstream to client, each
 * through a {@code byte[]} buffer with {@code InputStream.read} / {@code OutputStream.write}.
 * Half-close is propagated with {@code shutdownOutput()}; both sockets are closed when both
 * directions are done, or on the first {@code IOException}.
 *
 * <p>This module is compiled for Java 17, so the virtual thread factory
 * ({@code Thread.ofVirtual().name("vproxy-", 0).factory()}) is obtained through method handles.
 * On a JDK older than 21 the program prints an error and exits with status 2.
 *
 * <pre>
 * /path/to/jdk21+/bin/java -cp sockmap-examples.jar io.sockmap.examples.VirtualThreadProxy --listen 9000 --target 127.0.0.1:9001
 * </pre>
 *
 * Prints {@code listening on <port>} when ready.
 */
public final class VirtualThreadProxy extends AbstractProxy {

    private final ThreadFactory virtualThreads;

    /** @throws UnsupportedOperationException on JDK &lt; 21 */
    VirtualThreadProxy(Config config) {
        super("VirtualThreadProxy", config);
        this.virtualThreads = Threads.virtual("vproxy-");
    }

    /**
     * Starts a proxy in this JVM with the command-line options of {@link #main}; the caller
     * closes it.
     *
     * @throws IllegalArgumentException on a bad option
     * @throws UnsupportedOperationException on JDK &lt; 21
     */
    public static VirtualThreadProxy launch(String... args) throws IOException {
        VirtualThreadProxy proxy = new VirtualThreadProxy(Config.parse(args));
        proxy.start();
        return proxy;
    }

    public static void main(String[] args) {
        if (!Threads.virtualAvailable()) {
            System.err.println("VirtualThreadProxy: virtual threads need JDK 21 or later; this JVM is Java "
                    + Runtime.version() + " (" + System.getProperty("java.home") + ")");
            System.exit(2);
        }
        Cli.main(usage("VirtualThreadProxy", "Relays each connection with two virtual threads (JDK 21+) and a byte[] copy loop."),
                args, OPTIONS, FLAGS, cli -> new VirtualThreadProxy(Config.parse(cli)).serveForever());
    }

    @Override
    protected void accepted(Socket client) {
        Connection c = track(client);
        virtualThreads.newThread(() -> {
            Socket upstream = connectUpstream(c);
            if (upstream == null) {
                return;
            }
            virtualThreads.newThread(() -> copy(c, upstream, c.client)).start();
            copy(c, c.client, upstream);
        }).start();
    }

    private void copy(Connection c, Socket from, Socket to) {
        byte[] buffer = new byte[bufferSize];
        try {
            InputStream in = from.getInputStream();
            OutputStream out = to.getOutputStream();
            int n;
            while ((n = in.read(buffer)) != -1) {
                out.write(buffer, 0, n);
            }
            to.shutdownOutput();
            c.directionDone();
        } catch (IOException e) {
            relayFailed(c, e);
            c.close();
        }
    }
}
