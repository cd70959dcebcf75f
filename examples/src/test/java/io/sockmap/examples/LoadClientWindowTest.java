package io.sockmap.examples;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;

import org.junit.jupiter.api.Test;

/**
 * Request/response connections are answered once before the warm-up and window start: a server
 * that leaves its connections in the accept queue for a while is not measured as slow requests.
 */
class LoadClientWindowTest {

    private static final long ACCEPT_DELAY_MILLIS = 1000;

    @Test
    void everyConnectionIsAnsweredBeforeTheWindow() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 16, InetAddress.getLoopbackAddress())) {
            Thread acceptor = new Thread(() -> acceptLate(server), "late-acceptor");
            acceptor.setDaemon(true);
            long t0 = System.nanoTime();
            acceptor.start();
            LoadClient.RrResult r = (LoadClient.RrResult) LoadClient.run("--target",
                    "127.0.0.1:" + server.getLocalPort(), "--mode", "rr", "--connections", "4", "--size", "1024",
                    "--duration", "0.5", "--warmup", "0", "--idle-timeout", "10");
            assertTrue(r.ok(), () -> r.summary() + " " + r.problems());
            assertTrue(r.requests() > 0, r::summary);
            double late = (ACCEPT_DELAY_MILLIS - 50) / 1e3;
            assertTrue(r.answeredAllAfterSeconds() >= late, r::json);
            assertTrue((r.windowStartNanos() - t0) / 1e9 >= late, "window opened before the first answers");
            // no request that waited in the accept queue is in the histogram
            assertTrue(r.maxUs() < ACCEPT_DELAY_MILLIS * 1000 / 2, r::summary);
            assertTrue(r.json().contains("\"answered_all_after_s\":"), r::json);
        }
    }

    /** Accepts nothing for a second, then answers each connection's 1 KiB requests. */
    private static void acceptLate(ServerSocket server) {
        try {
            Thread.sleep(ACCEPT_DELAY_MILLIS);
            while (true) {
                Socket s = server.accept();
                Thread t = new Thread(() -> echoRequests(s), "late-echo");
                t.setDaemon(true);
                t.start();
            }
        } catch (IOException | InterruptedException e) {
            // the server was closed: the test is over
        }
    }

    private static void echoRequests(Socket s) {
        try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
            s.setTcpNoDelay(true);
            byte[] request = new byte[1024];
            while (true) {
                int got = 0;
                while (got < request.length) {
                    int n = in.read(request, got, request.length - got);
                    if (n < 0) {
                        return;
                    }
                    got += n;
                }
                out.write(request);
            }
        } catch (IOException e) {
            // the client went away
        }
    }
}
