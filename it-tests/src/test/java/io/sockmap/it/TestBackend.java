package io.sockmap.it;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A backend in the test's own JVM (no agent): accepts on loopback and hands each accepted socket
 * to the test, which plays the server side of a scenario step by step.
 */
final class TestBackend implements AutoCloseable {
    private final ServerSocket server;
    private final BlockingQueue<Socket> accepted = new LinkedBlockingQueue<>();

    TestBackend() throws IOException {
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread t = new Thread(() -> {
            try {
                for (;;) accepted.add(server.accept());
            } catch (IOException e) {
                // closed
            }
        }, "test-backend-accept");
        t.setDaemon(true);
        t.start();
    }

    int port() { return server.getLocalPort(); }

    String target() { return "127.0.0.1:" + port(); }

    /** The next connection the proxy opened to this backend. */
    Socket accept() throws InterruptedException {
        Socket s = accepted.poll(20, TimeUnit.SECONDS);
        if (s == null) throw new AssertionError("the proxy did not connect to the backend within 20 s");
        return s;
    }

    @Override
    public void close() throws IOException {
        server.close();
        Socket s;
        while ((s = accepted.poll()) != null) s.close();
    }
}
