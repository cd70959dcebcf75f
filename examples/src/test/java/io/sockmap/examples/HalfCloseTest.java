package io.sockmap.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * EOF in one direction must reach the other side as a half-close while the other direction keeps
 * flowing, in both orders, and the proxy must close both sockets once both directions are done.
 * The payloads are upper-case so the transforming proxy relays them unchanged too.
 */
class HalfCloseTest {

    private static final byte[] REQUEST = "REQUEST 1".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] REPLY = "REPLY AFTER YOUR EOF".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] GREETING = "HELLO, THEN EOF".getBytes(StandardCharsets.US_ASCII);

    private static byte[] bulk() {
        byte[] b = new byte[1 << 20];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) ('A' + i % 26);
        }
        return b;
    }

    @ParameterizedTest
    @EnumSource(Fixtures.Kind.class)
    void clientClosesFirstServerStillAnswers(Fixtures.Kind kind) throws Exception {
        assumeTrue(kind != Fixtures.Kind.VirtualThreadProxy || Threads.virtualAvailable(), "needs JDK 21+");
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
             AbstractProxy proxy = Fixtures.proxy(kind, server.getLocalPort())) {
            CompletableFuture<byte[]> serverSaw = CompletableFuture.supplyAsync(() -> {
                try (Socket s = server.accept()) {
                    byte[] got = s.getInputStream().readAllBytes();       // until the client's EOF
                    s.getOutputStream().write(REPLY);                     // still allowed: half-closed
                    s.shutdownOutput();
                    assertEquals(-1, s.getInputStream().read());
                    return got;
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            try (Socket client = new Socket()) {
                client.setSoTimeout(10_000);
                client.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), proxy.port()));
                client.getOutputStream().write(REQUEST);
                client.shutdownOutput();
                InputStream in = client.getInputStream();
                assertArrayEquals(REPLY, in.readAllBytes());
            }
            assertArrayEquals(REQUEST, serverSaw.get(10, TimeUnit.SECONDS));
            Fixtures.awaitZero(kind + " connections", proxy::activeConnections);
            Fixtures.awaitZero(kind + " sockets", proxy::openSockets);
        }
    }

    @ParameterizedTest
    @EnumSource(Fixtures.Kind.class)
    void serverClosesFirstClientStillSends(Fixtures.Kind kind) throws Exception {
        assumeTrue(kind != Fixtures.Kind.VirtualThreadProxy || Threads.virtualAvailable(), "needs JDK 21+");
        byte[] upload = bulk();
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
             AbstractProxy proxy = Fixtures.proxy(kind, server.getLocalPort())) {
            CompletableFuture<byte[]> serverSaw = CompletableFuture.supplyAsync(() -> {
                try (Socket s = server.accept()) {
                    s.setSoTimeout(10_000);
                    s.getOutputStream().write(GREETING);
                    s.shutdownOutput();                                   // server is done talking
                    return s.getInputStream().readAllBytes();             // but keeps listening
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            try (Socket client = new Socket()) {
                client.setSoTimeout(10_000);
                client.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), proxy.port()));
                assertArrayEquals(GREETING, client.getInputStream().readAllBytes());   // EOF seen
                client.getOutputStream().write(upload);                             // then send
                client.shutdownOutput();
                assertEquals(-1, client.getInputStream().read());
            }
            assertArrayEquals(upload, serverSaw.get(10, TimeUnit.SECONDS));
            Fixtures.awaitZero(kind + " connections", proxy::activeConnections);
            Fixtures.awaitZero(kind + " sockets", proxy::openSockets);
        }
    }

    @ParameterizedTest
    @EnumSource(Fixtures.Kind.class)
    void resetClosesBothSides(Fixtures.Kind kind) throws Exception {
        assumeTrue(kind != Fixtures.Kind.VirtualThreadProxy || Threads.virtualAvailable(), "needs JDK 21+");
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
             AbstractProxy proxy = Fixtures.proxy(kind, server.getLocalPort())) {
            CompletableFuture<Integer> serverSaw = CompletableFuture.supplyAsync(() -> {
                try (Socket s = server.accept()) {
                    s.setSoTimeout(10_000);
                    return s.getInputStream().read();                      // EOF or reset once the proxy closes
                } catch (java.net.SocketException e) {
                    return -2;
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            Socket client = new Socket();
            client.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), proxy.port()));
            client.setSoLinger(true, 0);
            Fixtures.awaitZero("pending connect", () -> proxy.openSockets() == 2 ? 0 : 1);
            client.close();                                                // RST
            int seen = serverSaw.get(10, TimeUnit.SECONDS);
            assertEquals(true, seen == -1 || seen == -2, "server read " + seen);
            Fixtures.awaitZero(kind + " connections", proxy::activeConnections);
            Fixtures.awaitZero(kind + " sockets", proxy::openSockets);
        }
    }
}
