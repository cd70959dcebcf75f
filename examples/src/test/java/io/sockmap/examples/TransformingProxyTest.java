package io.sockmap.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

/** The transforming proxy upper-cases client-to-server ASCII letters and nothing else. */
class TransformingProxyTest {

    @Test
    void upperCasesOnlyAsciiLetters() {
        byte[] b = new byte[256];
        for (int i = 0; i < 256; i++) {
            b[i] = (byte) i;
        }
        TransformingProxy.upperCaseAscii(b, 0, b.length);
        for (int i = 0; i < 256; i++) {
            int expected = i >= 'a' && i <= 'z' ? i - 32 : i;
            assertEquals((byte) expected, b[i], "byte " + i);
        }
    }

    @Test
    void clientToServerIsTransformedServerToClientIsNot() throws Exception {
        try (Backend echo = Backend.launch("--mode", "echo");
             AbstractProxy proxy = Fixtures.proxy(Fixtures.Kind.TransformingProxy, echo.port());
             Socket client = new Socket()) {
            client.setSoTimeout(10_000);
            client.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), proxy.port()));
            client.getOutputStream().write("Hello, World! abc-xyz 123 \u00e9".getBytes(StandardCharsets.UTF_8));
            client.shutdownOutput();
            assertArrayEquals("HELLO, WORLD! ABC-XYZ 123 \u00e9".getBytes(StandardCharsets.UTF_8),
                    client.getInputStream().readAllBytes());
        }
    }

    @Test
    void bulkVerifiedAgainstTheTransformedData() throws Exception {
        try (Backend echo = Backend.launch("--mode", "echo");
             Backend sink = Backend.launch("--mode", "sink");
             Backend source = Backend.launch("--mode", "source", "--bytes", "32M");
             AbstractProxy toEcho = Fixtures.proxy(Fixtures.Kind.TransformingProxy, echo.port());
             AbstractProxy toSink = Fixtures.proxy(Fixtures.Kind.TransformingProxy, sink.port());
             AbstractProxy toSource = Fixtures.proxy(Fixtures.Kind.TransformingProxy, source.port())) {
            LoadClient.Result e = LoadClient.run("--target", Fixtures.target(toEcho), "--backend", "echo",
                    "--bytes", "32M", "--expect-uppercase");
            assertTrue(e.ok(), () -> e.summary() + " " + e.problems());
            LoadClient.Result s = LoadClient.run("--target", Fixtures.target(toSink), "--backend", "sink",
                    "--bytes", "32M", "--expect-uppercase");
            assertTrue(s.ok(), () -> s.summary() + " " + s.problems());
            // server-to-client is relayed unchanged
            LoadClient.Result src = LoadClient.run("--target", Fixtures.target(toSource), "--backend", "source",
                    "--bytes", "32M");
            assertTrue(src.ok(), () -> src.summary() + " " + src.problems());
            assertEquals(32L << 20, ((LoadClient.BulkResult) src).bytesReceived());

            // and the client does notice that the bytes changed when not told to expect it
            LoadClient.Result changed = LoadClient.run("--target", Fixtures.target(toSink), "--backend", "sink",
                    "--bytes", "1M");
            assertFalse(changed.ok());
            assertEquals(1, changed.mismatches());
            assertEquals(1, changed.exitCode());
            assertTrue(changed.json().contains("\"ok\":false"), changed.json());
        }
    }
}
