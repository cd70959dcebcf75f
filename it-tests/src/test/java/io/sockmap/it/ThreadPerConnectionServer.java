package io.sockmap.it;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;

/**
 * A loopback test server in this JVM with one daemon thread per accepted connection; subclasses
 * say what a connection does ({@link #serve}) and call {@link #start} at the end of their
 * constructor, once their own fields are set.
 */
abstract class ThreadPerConnectionServer implements AutoCloseable {
    private final ServerSocket server = new ServerSocket(0, 512, InetAddress.getLoopbackAddress());
    private final String name;

    ThreadPerConnectionServer(String name) throws IOException {
        this.name = name;
    }

    /** Handles one connection on its own thread; closing the socket is up to it. */
    protected abstract void serve(Socket s);

    protected final void start() {
        Thread t = new Thread(this::acceptLoop, name);
        t.setDaemon(true);
        t.start();
    }

    int port() {
        return server.getLocalPort();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                Thread t = new Thread(() -> serve(s), name + "-conn");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
