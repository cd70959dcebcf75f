package io.sockmap.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataInputStream;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.security.MessageDigest;

import org.junit.jupiter.api.Test;

/** The backend's wire behaviour, without a proxy. */
class BackendTest {

    private static Socket connect(Backend b) throws Exception {
        Socket s = new Socket();
        s.setSoTimeout(10_000);
        s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), b.port()));
        return s;
    }

    @Test
    void sinkRepliesCountAndSha256() throws Exception {
        byte[] data = new byte[100_000];
        new DeterministicBytes(3).fill(data, 0, data.length, 0);
        try (Backend sink = Backend.launch("--mode", "sink"); Socket s = connect(sink)) {
            s.getOutputStream().write(data);
            s.shutdownOutput();
            DataInputStream in = new DataInputStream(s.getInputStream());
            assertEquals(data.length, in.readLong());
            byte[] hash = new byte[32];
            in.readFully(hash);
            assertArrayEquals(MessageDigest.getInstance("SHA-256").digest(data), hash);
            assertEquals(-1, in.read());
        }
    }

    @Test
    void sourceSendsTheSeededStreamThenHalfCloses() throws Exception {
        try (Backend source = Backend.launch("--mode", "source", "--bytes", "1000003", "--seed", "42");
             Socket s = connect(source)) {
            byte[] got = s.getInputStream().readAllBytes();     // EOF while our side is still open
            byte[] expected = new byte[1000003];
            new DeterministicBytes(42).fill(expected, 0, expected.length, 0);
            assertArrayEquals(expected, got);
            s.getOutputStream().write(new byte[300_000]);        // discarded, not refused
            s.shutdownOutput();
            assertEquals(-1, s.getInputStream().read());
        }
    }

    @Test
    void reqrespAnswersEachRequestWithTheSameBytes() throws Exception {
        try (Backend rr = Backend.launch("--mode", "reqresp", "--size", "100"); Socket s = connect(rr)) {
            InputStream in = s.getInputStream();
            for (int i = 0; i < 50; i++) {
                byte[] req = new byte[100];
                new DeterministicBytes(i).fill(req, 0, 100, 0);
                s.getOutputStream().write(req, 0, 30);           // requests may arrive in pieces
                s.getOutputStream().write(req, 30, 70);
                assertArrayEquals(req, in.readNBytes(100));
            }
            s.shutdownOutput();
            assertEquals(-1, in.read());
        }
    }

    @Test
    void readRateMakesASlowReader() throws Exception {
        try (Backend sink = Backend.launch("--mode", "sink", "--read-rate", "2M", "--no-hash")) {
            long t0 = System.nanoTime();
            LoadClient.Result r = LoadClient.run("--target", Fixtures.target(sink), "--backend", "sink",
                    "--bytes", "1M", "--no-verify");
            double seconds = (System.nanoTime() - t0) / 1e9;
            assertTrue(r.ok(), () -> r.summary() + " " + r.problems());
            assertTrue(seconds >= 0.4, "1 MiB at 2 MiB/s took only " + seconds + " s");
        }
    }

    @Test
    void closeClosesOpenConnections() throws Exception {
        Backend echo = Backend.launch("--mode", "echo");
        try (Socket s = connect(echo)) {
            s.getOutputStream().write(1);
            assertEquals(1, s.getInputStream().read());
            echo.close();
            assertEquals(-1, s.getInputStream().read());
            assertEquals(0, echo.activeConnections());
        }
    }

    @Test
    void badOptionsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> Backend.launch("--mode", "mirror"));
        assertThrows(IllegalArgumentException.class, () -> Backend.launch("--size", "0"));
        assertThrows(IllegalArgumentException.class, () -> Backend.launch("--frobnicate"));
    }
}
