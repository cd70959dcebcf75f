package io.sockmap.examples;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What the example proxies have in common and is not the point of any of them: the options, the
 * accept loop, the upstream connect and the bookkeeping of a client/upstream pair. How the bytes
 * are relayed (the threads, the copy loop, the half-close) is written out in each subclass.
 *
 * <p>Common options: {@code --listen PORT} (0 = ephemeral, default 0), {@code --bind ADDR}
 * (default 127.0.0.1), {@code --target HOST:PORT} (required), {@code --buffer BYTES} (copy buffer
 * of the loops that have one) and {@code --verbose} (log every relay error, not only failed
 * upstream connects).
 */
abstract class AbstractProxy extends AbstractServer {

    static final int CONNECT_TIMEOUT_MILLIS = 10_000;
    static final int DEFAULT_BUFFER = 16 * 1024;
    static final Set<String> OPTIONS = Set.of("listen", "bind", "target", "buffer");
    static final Set<String> FLAGS = Set.of("verbose");

    /** Parsed command line of a proxy. */
    static final class Config {
        final InetAddress bind;
        final int listen;
        final InetSocketAddress target;
        final int bufferSize;
        final boolean verbose;

        Config(InetAddress bind, int listen, InetSocketAddress target, int bufferSize, boolean verbose) {
            this.bind = bind;
            this.listen = listen;
            this.target = target;
            this.bufferSize = bufferSize;
            this.verbose = verbose;
        }

        /** Parses a command line; a bad one is an {@link IllegalArgumentException}. */
        static Config parse(String... args) {
            try {
                return parse(Cli.parse(args, OPTIONS, FLAGS));
            } catch (Cli.UsageException e) {
                throw new IllegalArgumentException(e.getMessage(), e);
            }
        }

        static Config parse(Cli cli) throws Cli.UsageException {
            long buffer = cli.size("buffer", DEFAULT_BUFFER);
            if (buffer < 1 || buffer > (64 << 20)) {
                throw new Cli.UsageException("--buffer must be between 1 and 64M");
            }
            return new Config(cli.bindAddress(), cli.port("listen", 0), cli.hostPort("target"),
                    (int) buffer, cli.has("verbose"));
        }
    }

    static String usage(String program, String what) {
        return "usage: java -cp sockmap-examples.jar io.sockmap.examples." + program
                + " --target HOST:PORT [--listen PORT] [--bind ADDR] [--buffer BYTES] [--verbose]\n"
                + "  " + what + "\n"
                + "  --target HOST:PORT  where to forward every accepted connection (required)\n"
                + "  --listen PORT       port to listen on, 0 = ephemeral (default 0)\n"
                + "  --bind ADDR         address to listen on (default 127.0.0.1)\n"
                + "  --buffer BYTES      copy buffer per direction, e.g. 16K (default 16K)\n"
                + "  --verbose           log every relay error\n"
                + "Prints 'listening on <port>' on stdout when ready; SIGTERM/SIGINT closes everything.";
    }

    final InetSocketAddress target;
    final int bufferSize;
    private final Set<Connection> connections = ConcurrentHashMap.newKeySet();

    AbstractProxy(String name, Config config) {
        super(name, config.bind, config.listen);
        this.target = config.target;
        this.bufferSize = config.bufferSize;
        setVerbose(config.verbose);
    }

    /** Client connections currently being relayed. */
    public final int activeConnections() {
        return connections.size();
    }

    /** Starts tracking an accepted client (TCP_NODELAY on, as interactive protocols want). */
    final Connection track(Socket client) {
        Connection c = new Connection(client);
        connections.add(c);
        try {
            client.setTcpNoDelay(true);
        } catch (IOException e) {
            c.close();
        }
        return c;
    }

    /**
     * Connects to the target for this client. On failure logs it, closes the client and returns
     * {@code null}.
     */
    final Socket connectUpstream(Connection c) {
        Socket upstream = new Socket();
        try {
            upstream.setTcpNoDelay(true);
            upstream.connect(target, CONNECT_TIMEOUT_MILLIS);
        } catch (IOException e) {
            log("cannot connect to " + target + " for " + c.client.getRemoteSocketAddress() + ": " + e.getMessage());
            closeQuietly(upstream);
            c.close();
            return null;
        }
        if (!register(upstream)) {
            c.close();
            return null;
        }
        c.upstream = upstream;
        if (c.isClosed()) {
            forget(upstream);
            return null;
        }
        return upstream;
    }

    @Override
    void servingFailed(Socket s) {
        for (Connection c : connections) {
            if (c.client == s) {
                c.close();
            }
        }
        super.servingFailed(s);
    }

    /** Stops accepting and closes every connection. */
    @Override
    public void close() {
        super.close();
        for (Connection c : connections) {
            c.close();
        }
    }

    /** Logs a relay error when {@code --verbose}. */
    final void relayFailed(Connection c, IOException e) {
        if (verbose() && !c.isClosed() && !isClosed()) {
            log("relay " + c.client.getRemoteSocketAddress() + " failed: " + e);
        }
    }

    /** One proxied connection: the accepted client and, once connected, its upstream socket. */
    final class Connection {
        final Socket client;
        private volatile Socket upstream;
        private final AtomicInteger runningDirections = new AtomicInteger(2);
        private final AtomicBoolean closed = new AtomicBoolean();

        private Connection(Socket client) {
            this.client = client;
        }

        /** A direction has seen EOF and propagated it; the second one to finish closes both. */
        void directionDone() {
            if (runningDirections.decrementAndGet() == 0) {
                close();
            }
        }

        /** Closes both sockets. Idempotent; a blocked read or write in the other direction fails. */
        void close() {
            if (closed.compareAndSet(false, true)) {
                forget(client);
                Socket u = upstream;
                if (u != null) {
                    forget(u);
                }
                connections.remove(this);
            }
        }

        boolean isClosed() {
            return closed.get();
        }
    }
}
