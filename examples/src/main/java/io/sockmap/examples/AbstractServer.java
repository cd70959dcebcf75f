package io.sockmap.examples;

import java.io.Closeable;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;

/**
 * The accept loop shared by the examples: a plain blocking {@link ServerSocket} with a platform
 * acceptor thread, a registry of the sockets the server owns (so {@link #close()} can close them
 * all) and the {@code main} plumbing ({@code listening on <port>}, shutdown hook).
 *
 * <p>When {@code accept} fails while the server is open (typically {@code EMFILE}: too many open
 * files) the loop logs it at most once a second and retries after 100 ms instead of dying.
 */
abstract class AbstractServer implements AutoCloseable {

    /** Accept queue length requested from the kernel (capped by net.core.somaxconn). */
    static final int BACKLOG = 4096;

    private final String name;
    private final InetSocketAddress bindAddress;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private final CountDownLatch closedLatch = new CountDownLatch(1);
    private volatile boolean closed;
    private volatile boolean verbose;
    private ServerSocket server;
    private Thread acceptor;
    private long lastAcceptErrorLog;

    AbstractServer(String name, InetAddress bind, int port) {
        this.name = name;
        this.bindAddress = new InetSocketAddress(bind, port);
    }

    /** Called on the acceptor thread for each accepted (and registered) socket. */
    protected abstract void accepted(Socket socket) throws IOException;

    /** Binds, starts accepting and returns the actual port. */
    public final synchronized int start() throws IOException {
        if (server != null) {
            throw new IllegalStateException("already started");
        }
        ServerSocket ss = new ServerSocket();
        ss.setReuseAddress(true);
        ss.bind(bindAddress, BACKLOG);
        server = ss;
        acceptor = new Thread(this::acceptLoop, name + "-acceptor");
        acceptor.setDaemon(true);
        acceptor.start();
        return ss.getLocalPort();
    }

    public final int port() {
        return server.getLocalPort();
    }

    public final String name() {
        return name;
    }

    final void setVerbose(boolean verbose) {
        this.verbose = verbose;
    }

    final boolean verbose() {
        return verbose;
    }

    final boolean isClosed() {
        return closed;
    }

    private void acceptLoop() {
        while (!closed) {
            Socket s;
            try {
                s = server.accept();
            } catch (IOException e) {
                if (closed) {
                    break;
                }
                long now = System.nanoTime();
                if (now - lastAcceptErrorLog > 1_000_000_000L) {
                    lastAcceptErrorLog = now;
                    log("accept failed (" + e.getMessage() + "), retrying; is `ulimit -n` high enough?");
                }
                sleepQuietly(100);
                continue;
            }
            if (!register(s)) {
                continue;
            }
            try {
                accepted(s);
            } catch (IOException | RuntimeException | OutOfMemoryError e) {
                // OutOfMemoryError here is "unable to create native thread": drop this one.
                log("cannot serve " + s.getRemoteSocketAddress() + ": " + e);
                servingFailed(s);
            }
        }
    }

    /** {@link #accepted} threw: drop the socket and whatever was set up for it. */
    void servingFailed(Socket s) {
        forget(s);
    }

    /** Adds a socket to the registry; closes it and returns false if the server is closing. */
    final boolean register(Socket s) {
        sockets.add(s);
        if (closed) {
            forget(s);
            return false;
        }
        return true;
    }

    /** Closes a socket and removes it from the registry. */
    final void forget(Socket s) {
        closeQuietly(s);
        sockets.remove(s);
    }

    /** Sockets currently owned (accepted and, for proxies, upstream). */
    final int openSockets() {
        return sockets.size();
    }

    /** Stops accepting and closes every socket this server owns. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        synchronized (this) {
            closeQuietly(server);
        }
        for (Socket s : sockets) {
            closeQuietly(s);
        }
        sockets.clear();
        closedLatch.countDown();
        Thread t = acceptor;
        if (t != null && t != Thread.currentThread()) {
            try {
                t.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Blocks until {@link #close()} has been called. */
    final void awaitClosed() throws InterruptedException {
        closedLatch.await();
    }

    /**
     * What every server {@code main} does once configured: start, print
     * {@code listening on <port>} on stdout, close on SIGTERM/SIGINT, wait.
     */
    final int serveForever() throws IOException, InterruptedException {
        int port = start();
        Runtime.getRuntime().addShutdownHook(new Thread(this::close, name + "-shutdown"));
        System.out.println("listening on " + port);
        System.out.flush();
        awaitClosed();
        return 0;
    }

    final void log(String message) {
        System.err.println(name + ": " + message);
    }

    static void closeQuietly(Closeable c) {
        if (c != null) {
            try {
                c.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
    }

    private static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
