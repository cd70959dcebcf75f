package io.sockmap.examples;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The classic blocking TCP proxy: for each accepted client, connect to the target and run two
 * platform threads, each copying one direction through a {@code byte[]} buffer (16 KiB by
 * default) with {@code InputStream.read} / {@code OutputStream.write}.
 *
 * <p>EOF from one side is propagated as a half-close ({@code shutdownOutput()} on the other
 * socket) so request/response protocols that half-close keep working; when both directions have
 * seen EOF both sockets are closed. An {@code IOException} in either direction closes both sockets,
 * which makes the other thread's blocked call fail and end too.
 *
 * <pre>
 * java -cp sockmap-examples.jar io.sockmap.examples.ThreadPairProxy --listen 9000 --target 127.0.0.1:9001
 * java -javaagent:sockmap-agent.jar -cp sockmap-examples.jar io.sockmap.examples.ThreadPairProxy ...
 * </pre>
 *
 * Prints {@code listening on <port>} when ready. Two threads per connection: 10,000 connections
 * mean 20,000 threads (each thread is a kernel task: mind {@code ulimit -u},
 * {@code kernel.pid_max} and {@code kernel.threads-max}) and 20,000 file descriptors
 * ({@code ulimit -n}).
 */
public final class ThreadPairProxy extends AbstractProxy {

    private final AtomicLong ids = new AtomicLong();

    ThreadPairProxy(Config config) {
        super("ThreadPairProxy", config);
    }

    /**
     * Starts a proxy in this JVM with the command-line options of {@link #main}; the caller
     * closes it.
     *
     * @throws IllegalArgumentException on a bad option
     */
    public static ThreadPairProxy launch(String... args) throws IOException {
        ThreadPairProxy proxy = new ThreadPairProxy(Config.parse(args));
        proxy.start();
        return proxy;
    }

    public static void main(String[] args) {
        Cli.main(usage("ThreadPairProxy", "Relays each connection with two platform threads and a byte[] copy loop."),
                args, OPTIONS, FLAGS, cli -> new ThreadPairProxy(Config.parse(cli)).serveForever());
    }

    @Override
    protected void accepted(Socket client) {
        Connection c = track(client);
        long id = ids.incrementAndGet();
        Thread t = new Thread(() -> relay(c, id), "proxy-" + id + "-up");
        t.setDaemon(true);
        t.start();
    }

    private void relay(Connection c, long id) {
        Socket upstream = connectUpstream(c);
        if (upstream == null) {
            return;
        }
        Thread down = new Thread(() -> copy(c, upstream, c.client), "proxy-" + id + "-down");
        down.setDaemon(true);
        try {
            down.start();
        } catch (OutOfMemoryError e) {   // "unable to create native thread"
            log("cannot start a relay thread: " + e.getMessage());
            c.close();
            return;
        }
        copy(c, c.client, upstream);
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
