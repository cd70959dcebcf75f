package io.sockmap.examples;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A proxy that changes the bytes: client-to-server traffic has its ASCII letters upper-cased
 * ({@code 'a'..'z'} become {@code 'A'..'Z'}, every other byte is unchanged); server-to-client
 * traffic is relayed unchanged. Otherwise it is the thread-pair proxy: two platform threads,
 * {@code byte[]} copy loops, half-close propagated with {@code shutdownOutput()}, both sockets
 * closed when both directions are done or on the first {@code IOException}.
 *
 * <p><b>The agent must never splice this proxy.</b> Its copy loop modifies the buffer between the
 * {@code read} and the {@code write}, so the bytes written are not the bytes read, and a kernel
 * splice would forward the original, unmodified bytes. Both directions run the same loop method
 * (the server-to-client direction merely skips the transformation), so neither is eligible.
 * It is the negative control of the tests: run under {@code -javaagent:sockmap-agent.jar}, the
 * server must still receive upper-cased data and the proxy must still read and write every byte.
 *
 * <pre>
 * java -cp sockmap-examples.jar io.sockmap.examples.TransformingProxy --listen 9000 --target 127.0.0.1:9001
 * </pre>
 *
 * Prints {@code listening on <port>} when ready.
 */
public final class TransformingProxy extends AbstractProxy {

    private final AtomicLong ids = new AtomicLong();

    TransformingProxy(Config config) {
        super("TransformingProxy", config);
    }

    /**
     * Starts a proxy in this JVM with the command-line options of {@link #main}; the caller
     * closes it.
     *
     * @throws IllegalArgumentException on a bad option
     */
    public static TransformingProxy launch(String... args) throws IOException {
        TransformingProxy proxy = new TransformingProxy(Config.parse(args));
        proxy.start();
        return proxy;
    }

    public static void main(String[] args) {
        Cli.main(usage("TransformingProxy", "Relays each connection, upper-casing ASCII letters from client to server."),
                args, OPTIONS, FLAGS, cli -> new TransformingProxy(Config.parse(cli)).serveForever());
    }

    /** The client-to-server transformation, in place: ASCII a-z to A-Z. */
    static void upperCaseAscii(byte[] b, int off, int len) {
        for (int i = off; i < off + len; i++) {
            byte x = b[i];
            if (x >= 'a' && x <= 'z') {
                b[i] = (byte) (x - ('a' - 'A'));
            }
        }
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
            Thread down = new Thread(() -> copy(c, upstream, c.client, false), "transform-" + id + "-down");
            down.setDaemon(true);
            try {
                down.start();
            } catch (OutOfMemoryError e) {   // "unable to create native thread"
                log("cannot start a relay thread: " + e.getMessage());
                c.close();
                return;
            }
            copy(c, c.client, upstream, true);
        }, "transform-" + id + "-up");
        t.setDaemon(true);
        t.start();
    }

    private void copy(Connection c, Socket from, Socket to, boolean transform) {
        byte[] buffer = new byte[bufferSize];
        try {
            InputStream in = from.getInputStream();
            OutputStream out = to.getOutputStream();
            int n;
            while ((n = in.read(buffer)) != -1) {
                if (transform) {
                    upperCaseAscii(buffer, 0, n);
                }
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
