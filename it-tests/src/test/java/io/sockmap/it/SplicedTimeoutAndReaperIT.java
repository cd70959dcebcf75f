package io.sockmap.it;

import static io.sockmap.it.BlockingProxyAgentIT.feature;
import static io.sockmap.it.BlockingProxyAgentIT.log;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.sockmap.it.BlockingProxyAgentIT.Child;
import io.sockmap.it.PatternStreams.Receiver;
import io.sockmap.it.PatternStreams.Sender;
import io.sockmap.it.relays.TestRelay;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A spliced relay thread is parked in the agent, not in {@code recv}; what the application set on
 * its sockets must still mean what it meant. {@link TestRelay} ({@code timeout} style, a thread
 * pair) in its own JVM with {@code -javaagent:}, on JDK 17 and 25:
 * <ul>
 *   <li>{@code SO_TIMEOUT} 1 s on both sockets and a transfer of more than 3 s at a throttled rate
 *       in both directions: no read times out while the kernel moves the bytes, every byte
 *       arrives, most of it through the kernel; then, idle, the relay's read does time out (idle
 *       timeout) and the relay closes the connection;
 *   <li>a reaper thread closes both sockets 2 s after accept, in the middle of a spliced
 *       transfer: both peers see EOF or a reset (no hang, only bytes that were sent) and both
 *       relay threads return.
 * </ul>
 */
class SplicedTimeoutAndReaperIT {
    static final long MIB = 1L << 20;
    static final long RATE = 4 * MIB; // bytes per second and direction

    static Stream<Arguments> jdks() {
        return BlockingProxyAgentIT.jdks().stream().map(Arguments::of);
    }

    static List<String> agent() {
        return List.of("-javaagent:" + SplicedEdgeCasesIT.agentJar(), "-Dsockmap.logLevel=debug");
    }

    @ParameterizedTest(name = "JDK {0}")
    @MethodSource("jdks")
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aReadTimeoutIsAnIdleTimeoutOnASplicedSocket(Path jdk) throws Exception {
        try (TestBackend backend = new TestBackend();
             Child relay = OtherRelayStylesIT.startTestRelay(jdk, agent(), "timeout", "--target", backend.target(),
                     "--so-timeout", "1000")) {
            relay.requireSplicing();
            long bytes = 14 * MIB; // 3.5 s at RATE
            long start = System.nanoTime();
            try (Socket client = SplicedEdgeCasesIT.connect(relay.port); Socket server = backend.accept()) {
                Sender up = new Sender(client, 51);
                Sender down = new Sender(server, 52);
                Receiver atServer = new Receiver(server, 51, "at-server");
                Receiver atClient = new Receiver(client, 52, "at-client");
                CompletableFuture<Void> d = CompletableFuture.runAsync(() -> {
                    try {
                        down.send(bytes, RATE);
                    } catch (IOException e) {
                        throw new RuntimeException(e);
                    }
                });
                up.send(bytes, RATE);
                d.get(30, TimeUnit.SECONDS);
                long millis = (System.nanoTime() - start) / 1_000_000;
                assertTrue(millis > 3000, "the transfer lasted " + millis + " ms");
                client.shutdownOutput();
                server.shutdownOutput();
                atServer.await(30, "backend");
                atClient.await(30, "client");
                assertEquals("eof", atServer.end(), "the relay must not time out while bytes move: " + atServer
                        + "\n" + relay.stdout);
                assertEquals("eof", atClient.end(), atClient + "\n" + relay.stdout);
                assertEquals(up.sha256(), atServer.sha256());
                assertEquals(down.sha256(), atClient.sha256());
            }
            assertEquals(2, SplicedEdgeCasesIT.splicedLines(relay), relay.stderrText());
            assertTrue(relay.stdout.stream().noneMatch(l -> l.startsWith("relay timed out")), relay.stdout.toString());

            // idle: the 1 s read timeout fires on the parked read, the relay closes both sockets
            try (Socket client = SplicedEdgeCasesIT.connect(relay.port); Socket server = backend.accept()) {
                Sender up = new Sender(client, 53);
                Sender down = new Sender(server, 54);
                Receiver atServer = new Receiver(server, 53, "at-server");
                Receiver atClient = new Receiver(client, 54, "at-client");
                SplicedEdgeCasesIT.both(up, down, MIB);
                SplicedEdgeCasesIT.awaitSplicedLines(relay, 4);
                long idleFrom = System.nanoTime();
                atClient.await(10, "client of an idle relay with a 1 s read timeout");
                atServer.await(10, "backend of an idle relay with a 1 s read timeout");
                long idleMillis = (System.nanoTime() - idleFrom) / 1_000_000;
                assertEquals(MIB, atClient.received());
                assertEquals(MIB, atServer.received());
                assertEquals(-1, atClient.mismatchAt());
                assertEquals(-1, atServer.mismatchAt());
                assertTrue(idleMillis >= 900, "closed after " + idleMillis + " ms idle");
                awaitLine(relay, "relay timed out");
                log("JDK " + feature(jdk) + ": idle spliced connection closed by the relay's read timeout after "
                        + idleMillis + " ms");
            }
            long[] kernel = relay.stopAndReadSummary();
            log("JDK " + feature(jdk) + ": throttled " + bytes + " bytes each way, kernel c->s " + kernel[0] + " s->c "
                    + kernel[1]);
            // the point here is that the parked reads did not time out while the kernel moved the
            // bytes; the 99% share is checked by the bulk tests (a throttled stream under load gives
            // the engine's handover and throttle a larger part)
            assertTrue(kernel[0] >= bytes * 9 / 10 && kernel[1] >= bytes * 9 / 10,
                    "kernel bytes c->s " + kernel[0] + ", s->c " + kernel[1] + "\n" + relay.stderrText());
        }
    }

    @ParameterizedTest(name = "JDK {0}")
    @MethodSource("jdks")
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aReaperClosingSplicedSocketsEndsTheConnection(Path jdk) throws Exception {
        try (TestBackend backend = new TestBackend();
             Child relay = OtherRelayStylesIT.startTestRelay(jdk, agent(), "timeout", "--target", backend.target(),
                     "--reap-after", "2000")) {
            relay.requireSplicing();
            try (Socket client = SplicedEdgeCasesIT.connect(relay.port); Socket server = backend.accept()) {
                long accepted = System.nanoTime();
                Sender up = new Sender(client, 61);
                Sender down = new Sender(server, 62);
                Receiver atServer = new Receiver(server, 61, "at-server");
                Receiver atClient = new Receiver(client, 62, "at-client");
                AtomicBoolean stop = new AtomicBoolean();
                CompletableFuture<IOException> upLoop = CompletableFuture.supplyAsync(() -> up.sendUntilStopped(stop, RATE));
                CompletableFuture<IOException> downLoop = CompletableFuture.supplyAsync(() -> down.sendUntilStopped(stop, RATE));
                SplicedEdgeCasesIT.awaitSplicedLines(relay, 2);
                assertTrue(System.nanoTime() - accepted < TimeUnit.MILLISECONDS.toNanos(1800),
                        "spliced well before the reaper runs");
                atClient.await(15, "client when the reaper closes the spliced sockets");
                atServer.await(15, "backend when the reaper closes the spliced sockets");
                long millis = (System.nanoTime() - accepted) / 1_000_000;
                stop.set(true);
                assertTrue(upLoop.get(15, TimeUnit.SECONDS) != null || downLoop.get(15, TimeUnit.SECONDS) != null
                        || millis >= 1900, "ended after " + millis + " ms");
                for (Receiver r : List.of(atClient, atServer)) {
                    assertTrue(r.end().equals("eof") || r.end().contains("reset"), r.toString());
                    assertEquals(-1, r.mismatchAt(), "bytes that were not sent: " + r);
                }
                assertTrue(atServer.received() <= up.sent() + 256 * 1024 && atClient.received() <= down.sent() + 256 * 1024);
                assertTrue(atServer.received() > MIB && atClient.received() > MIB, atServer + " / " + atClient);
                awaitLine(relay, "relay exited up");
                awaitLine(relay, "relay exited down");
                log("JDK " + feature(jdk) + ": reaper closed the spliced connection; peers ended after " + millis
                        + " ms: client " + atClient + ", backend " + atServer);
            }
        }
    }

    static void awaitLine(Child relay, String prefix) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (relay.stdout.stream().noneMatch(l -> l.startsWith(prefix))) {
            if (System.nanoTime() > deadline) fail("no '" + prefix + "' from the relay within 10 s: " + relay.stdout
                    + "\n" + relay.stderrText());
            Thread.sleep(10);
        }
    }
}
