package io.sockmap.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** 32 MiB through each transparent proxy to each bulk backend, verified with SHA-256. */
class ProxyRelayTest {

    private static final long MIB = 1 << 20;
    private static Backend echo;
    private static Backend sink;
    private static Backend source;
    private static Backend reqresp;

    @BeforeAll
    static void backends() throws Exception {
        echo = Backend.launch("--mode", "echo");
        sink = Backend.launch("--mode", "sink");
        source = Backend.launch("--mode", "source", "--bytes", "32M", "--seed", "7");
        reqresp = Backend.launch("--mode", "reqresp", "--size", "1024");
    }

    @AfterAll
    static void close() {
        for (Backend b : new Backend[] {echo, sink, source, reqresp}) {
            if (b != null) {
                b.close();
            }
        }
    }

    static Stream<Arguments> proxiesAndBackends() {
        return Stream.of(Fixtures.Kind.ThreadPairProxy, Fixtures.Kind.TransferToProxy, Fixtures.Kind.VirtualThreadProxy)
                .flatMap(k -> Stream.of("echo", "sink", "source").map(b -> Arguments.of(k, b)));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @MethodSource("proxiesAndBackends")
    void relays32MiBUnchanged(Fixtures.Kind kind, String mode) throws Exception {
        assumeTrue(kind != Fixtures.Kind.VirtualThreadProxy || Threads.virtualAvailable(),
                "virtual threads need JDK 21+ (see VirtualThreadProxyTest for the subprocess run)");
        Backend backend = mode.equals("echo") ? echo : mode.equals("sink") ? sink : source;
        try (AbstractProxy proxy = Fixtures.proxy(kind, backend.port())) {
            LoadClient.Result r = mode.equals("source")
                    ? LoadClient.run("--target", Fixtures.target(proxy), "--backend", "source", "--streams", "1",
                            "--bytes", "32M", "--seed", "7", "--idle-timeout", "20")
                    : LoadClient.run("--target", Fixtures.target(proxy), "--backend", mode, "--streams", "2",
                            "--bytes", "16M", "--idle-timeout", "20");
            assertTrue(r.ok(), () -> r.summary() + " " + r.problems());
            assertEquals(0, r.exitCode());
            LoadClient.BulkResult bulk = (LoadClient.BulkResult) r;
            assertEquals(32 * MIB, bulk.bytesReceived());
            assertTrue(bulk.verified());
            assertTrue(bulk.json().contains("\"ok\":true"), bulk.json());
            Fixtures.awaitZero(kind + " connections", proxy::activeConnections);
            Fixtures.awaitZero(kind + " sockets", proxy::openSockets);
        }
    }

    @Test
    void requestResponseThroughThreadPairProxy() throws Exception {
        try (AbstractProxy proxy = Fixtures.proxy(Fixtures.Kind.ThreadPairProxy, reqresp.port())) {
            LoadClient.RrResult r = (LoadClient.RrResult) LoadClient.run("--target", Fixtures.target(proxy),
                    "--mode", "rr", "--connections", "8", "--size", "1024", "--duration", "1", "--idle-timeout", "10");
            assertTrue(r.ok(), () -> r.summary() + " " + r.problems());
            assertTrue(r.requests() > 0);
            assertTrue(r.p50us() > 0 && r.p50us() <= r.p99us() && r.p99us() <= r.p999us() && r.p999us() <= r.maxUs(),
                    r::summary);
            assertTrue(r.json().startsWith("{\"mode\":\"rr\",\"connections\":8,"), r.json());
            Fixtures.awaitZero("proxy connections", proxy::activeConnections);
        }
    }

    @Test
    void manyConcurrentConnections() throws Exception {
        int connections = 500;
        try (AbstractProxy proxy = Fixtures.proxy(Fixtures.Kind.ThreadPairProxy, reqresp.port())) {
            LoadClient.RrResult r = (LoadClient.RrResult) LoadClient.run("--target", Fixtures.target(proxy),
                    "--mode", "rr", "--connections", String.valueOf(connections), "--size", "1024",
                    "--duration", "1", "--idle-timeout", "20");
            assertTrue(r.ok(), () -> r.summary() + " " + r.problems());
            assertTrue(r.requests() >= connections, r::summary);
            Fixtures.awaitZero("proxy connections", proxy::activeConnections);
            Fixtures.awaitZero("backend connections", reqresp::activeConnections);
        }
    }

    @Test
    void timeBoundedBulk() throws Exception {
        try (AbstractProxy proxy = Fixtures.proxy(Fixtures.Kind.ThreadPairProxy, sink.port())) {
            long t0 = System.nanoTime();
            LoadClient.BulkResult r = (LoadClient.BulkResult) LoadClient.run("--target", Fixtures.target(proxy),
                    "--backend", "sink", "--streams", "2", "--duration", "0.5", "--no-verify");
            double seconds = (System.nanoTime() - t0) / 1e9;
            assertTrue(r.ok(), () -> r.summary() + " " + r.problems());
            assertTrue(r.bytesReceived() > 0 && r.bytesReceived() == r.bytesSent(), r::summary);
            assertTrue(seconds < 10, "took " + seconds + " s");
        }
    }
}
