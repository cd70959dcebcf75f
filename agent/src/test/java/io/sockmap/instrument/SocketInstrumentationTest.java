package io.sockmap.instrument;

import io.sockmap.engine.SocketFds;
import io.sockmap.detect.SocketTrack;
import io.sockmap.detect.SourceState;
import io.sockmap.engine.FallbackReason;
import net.bytebuddy.agent.ByteBuddyAgent;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.instrument.Instrumentation;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The instrumentation in this JVM (ByteBuddyAgent.install()): real loopback sockets, real JDK
 * stream classes, the engine replaced by {@link UserspaceSplicer}.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SocketInstrumentationTest {
    private static final long MIN = 64 * 1024;
    private static final List<String> LOG = new CopyOnWriteArrayList<>();
    private static final Map<String, String> ONCE = new ConcurrentHashMap<>();
    private static volatile UserspaceSplicer current;

    private UserspaceSplicer splicer;

    @BeforeAll
    static void install() {
        Instrumentation inst = ByteBuddyAgent.install();
        InstrumentLog log = new InstrumentLog() {
            @Override public void info(String m) { LOG.add("INFO " + m); }
            @Override public void warn(String m) { LOG.add("WARN " + m); }
            @Override public void debug(String m) { LOG.add("DEBUG " + m); }
            @Override public void warnOnce(String key, String m) {
                if (ONCE.putIfAbsent(key, m) == null) LOG.add("WARN " + m);
            }
        };
        Splicer delegating = new Splicer() {
            @Override
            public io.sockmap.engine.SplicedDirection spliceDirection(int s, int t, boolean aToB,
                    io.sockmap.engine.DirectionListener l) throws io.sockmap.engine.SpliceRefusedException {
                return current.spliceDirection(s, t, aToB, l);
            }

            @Override
            public void recordFallback(FallbackReason reason) {
                current.recordFallback(reason);
            }

            @Override
            public boolean prepareSourceClose(int fd) {
                return current.prepareSourceClose(fd);
            }
        };
        String failure = Instrumenter.install(inst, new InstrumentSettings(MIN, 5_000, AddressFilter.ALL, log), delegating);
        assertNull(failure, () -> failure + "\n" + LOG);
        assertNull(Instrumenter.install(inst, new InstrumentSettings(MIN, 5_000, AddressFilter.ALL, log), delegating),
                "a second install is a no-op");
        try {
            assertNull(Class.forName("io.sockmap.bootstrap.SocketBridge", false, null).getClassLoader());
        } catch (ClassNotFoundException e) {
            throw new AssertionError("bridge not in the bootstrap loader", e);
        }
    }

    @BeforeEach
    void freshSplicer() {
        splicer = new UserspaceSplicer();
        current = splicer;
    }

    private static SocketTrack track(Socket s) {
        return Instrumenter.hooks().track(s);
    }

    /** Client sends {@code up} bytes and reads everything back; returns what it received. */
    private static String runClient(LoopbackRig rig, long up, long pause) throws Exception {
        try (Socket c = new Socket(InetAddress.getLoopbackAddress(), rig.relayPort())) {
            CompletableFuture<String> received = CompletableFuture.supplyAsync(() -> {
                try {
                    return LoopbackRig.drain(c.getInputStream());
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            OutputStream out = c.getOutputStream();
            String sent = LoopbackRig.send(out, up, 3);
            if (pause > 0) Thread.sleep(pause);
            c.shutdownOutput();
            assertEquals(sent, rig.backendReceived.get(30, TimeUnit.SECONDS), "client -> server bytes");
            return received.get(30, TimeUnit.SECONDS);
        }
    }

    private static ThreadFactory platform() {
        return r -> {
            Thread t = new Thread(r, "relay");
            t.setDaemon(true);
            return t;
        };
    }

    @Test
    void aRefusedRelayIsAskedOnceAndKeepsRelayingInUserspace() throws Exception {
        splicer.refuse = FallbackReason.SOCKET_BUSY;
        try (LoopbackRig rig = new LoopbackRig(LoopbackRig.Style.COPY, platform(), splicer, 3 << 20)) {
            String got = runClient(rig, 2 << 20, 0);
            assertEquals(rig.backendSentSha, got, "server -> client bytes");
            rig.relayDone.get(30, TimeUnit.SECONDS);
            assertEquals(List.of(), rig.relayErrors);
            assertEquals(2, splicer.calls.size(), "one attempt per direction: " + splicer.calls);
            Socket[] pair = rig.relayPair.get();
            int a = SocketFds.of(pair[0]);
            UserspaceSplicer.Call up = splicer.calls.stream().filter(c -> c.sourceFd() == a).findFirst().orElseThrow();
            assertTrue(up.aToB(), "client -> server is a-to-b (the accepted socket is A)");
            UserspaceSplicer.Call down = splicer.calls.stream().filter(c -> c.sourceFd() != a).findFirst().orElseThrow();
            assertEquals(a, down.targetFd());
            assertEquals(false, down.aToB());
            assertEquals(SourceState.REFUSED, track(pair[0]).state());
            assertEquals(SourceState.REFUSED, track(pair[1]).state());
            assertEquals(1, LOG.stream().filter(l -> l.contains("SOCKET_BUSY")).count(), LOG::toString);
        }
    }

    @Test
    void aSplicedRelayParksItsThreadsAndSeesEofWhenTheEngineSaysSo() throws Exception {
        long[] pairsBefore = Instrumenter.pairCounts();
        try (LoopbackRig rig = new LoopbackRig(LoopbackRig.Style.COPY, platform(), splicer, 4 << 20)) {
            String got = runClient(rig, 5 << 20, 0);
            assertEquals(rig.backendSentSha, got);
            rig.relayDone.get(30, TimeUnit.SECONDS);
            assertEquals(List.of(), rig.relayErrors);
            assertSplicedBothWays(rig);
        }
        long[] pairs = Instrumenter.pairCounts();
        assertEquals(pairsBefore[0] + 1, pairs[0], "both directions of one connection: one pair");
        assertEquals(pairsBefore[1], pairs[1], "no longer active");
        assertEquals(1, splicer.calls.stream().filter(UserspaceSplicer.Call::aToB).count(), "one direction each way: " + splicer.calls);
    }

    private void assertSplicedBothWays(LoopbackRig rig) throws Exception {
        assertEquals(2, splicer.directions.size());
        for (UserspaceSplicer.FakeDirection d : splicer.directions) {
            assertTrue(d.kernelBytes() > 3 << 20, "most bytes went through the engine: " + d.kernelBytes());
            assertTrue(d.detached, "detached before close");
        }
        Socket[] pair = rig.relayPair.get();
        assertEquals(SourceState.SPLICED, track(pair[0]).state());
        assertEquals(SourceState.SPLICED, track(pair[1]).state());
        assertEquals(0, Instrumenter.hooks().liveDirections());
    }

    @Test
    void transferToIsSplicedToo() throws Exception {
        try (LoopbackRig rig = new LoopbackRig(LoopbackRig.Style.TRANSFER_TO, platform(), splicer, 4 << 20)) {
            String got = runClient(rig, 4 << 20, 0);
            assertEquals(rig.backendSentSha, got);
            rig.relayDone.get(30, TimeUnit.SECONDS);
            assertEquals(List.of(), rig.relayErrors);
            assertSplicedBothWays(rig);
        }
    }

    @Test
    void virtualThreadRelaysAreSpliced() throws Exception {
        ThreadFactory virtual = virtualThreads();
        assumeTrue(virtual != null, "no virtual threads on this JDK");
        try (LoopbackRig rig = new LoopbackRig(LoopbackRig.Style.COPY, virtual, splicer, 4 << 20)) {
            String got = runClient(rig, 4 << 20, 0);
            assertEquals(rig.backendSentSha, got);
            rig.relayDone.get(30, TimeUnit.SECONDS);
            assertEquals(List.of(), rig.relayErrors);
            assertSplicedBothWays(rig);
        }
    }

    @Test
    void aTransformingRelayIsNeverSpliced() throws Exception {
        try (LoopbackRig rig = new LoopbackRig(LoopbackRig.Style.UPPERCASE, platform(), splicer, 1 << 20)) {
            long up = 2 << 20;
            try (Socket c = new Socket(InetAddress.getLoopbackAddress(), rig.relayPort())) {
                CompletableFuture<String> received = CompletableFuture.supplyAsync(() -> {
                    try {
                        return LoopbackRig.drain(c.getInputStream());
                    } catch (IOException e) {
                        throw new RuntimeException(e);
                    }
                });
                LoopbackRig.send(c.getOutputStream(), up, 3);
                c.shutdownOutput();
                assertEquals(LoopbackRig.expectedUpper(up, 3), rig.backendReceived.get(30, TimeUnit.SECONDS));
                assertEquals(LoopbackRig.expectedUpper(1 << 20, 7), received.get(30, TimeUnit.SECONDS));
            }
            rig.relayDone.get(30, TimeUnit.SECONDS);
            assertEquals(List.of(), splicer.calls);
            Socket[] pair = rig.relayPair.get();
            assertEquals(SourceState.IMPURE, track(pair[0]).state(), track(pair[0]).reason());
            assertEquals(SourceState.IMPURE, track(pair[1]).state());
        }
    }

    @Test
    void anIdleSplicedReadTimesOutOnlyWhenNothingMoves() throws Exception {
        try (LoopbackRig rig = new LoopbackRig(LoopbackRig.Style.COPY, platform(), splicer, 0)) {
            rig.configureAccepted = s -> {
                try {
                    s.setSoTimeout(400);
                } catch (SocketException e) {
                    throw new RuntimeException(e);
                }
            };
            try (Socket c = new Socket(InetAddress.getLoopbackAddress(), rig.relayPort())) {
                OutputStream out = c.getOutputStream();
                LoopbackRig.send(out, 256 << 10, 3);
                // spliced by now (or soon); keep bytes moving for 3 timeout periods: no timeout
                long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1200);
                while (System.nanoTime() < until) {
                    out.write(new byte[1000]);
                    Thread.sleep(100);
                }
                assertEquals(List.of(), rig.relayErrors, "bytes moving: no timeout");
                assertEquals(1, splicer.directions.size());
                // now idle: the parked read times out
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                while (rig.relayErrors.isEmpty() && System.nanoTime() < deadline) Thread.sleep(20);
                assertEquals(1, rig.relayErrors.size());
                assertInstanceOf(SocketTimeoutException.class, rig.relayErrors.get(0), rig.relayErrors::toString);
                assertEquals("Read timed out", rig.relayErrors.get(0).getMessage());
            }
        }
    }

    @Test
    void anAbortedDirectionResetsTheParkedRead() throws Exception {
        splicer.forward = false;
        try (LoopbackRig rig = new LoopbackRig(LoopbackRig.Style.COPY, platform(), splicer, 0)) {
            try (Socket c = new Socket(InetAddress.getLoopbackAddress(), rig.relayPort())) {
                LoopbackRig.send(c.getOutputStream(), 256 << 10, 3);
                UserspaceSplicer.FakeDirection d = awaitDirection();
                Thread.sleep(100);
                assertEquals(List.of(), rig.relayErrors);
                d.abort("test");
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                while (rig.relayErrors.isEmpty() && System.nanoTime() < deadline) Thread.sleep(10);
                assertInstanceOf(SocketException.class, rig.relayErrors.get(0));
                assertEquals("Connection reset", rig.relayErrors.get(0).getMessage());
            }
        }
    }

    @Test
    void closingTheSourceFromAnotherThreadDrainsDetachesAndWakesTheReader() throws Exception {
        splicer.forward = false;
        try (LoopbackRig rig = new LoopbackRig(LoopbackRig.Style.COPY, platform(), splicer, 0)) {
            try (Socket c = new Socket(InetAddress.getLoopbackAddress(), rig.relayPort())) {
                LoopbackRig.send(c.getOutputStream(), 256 << 10, 3);
                UserspaceSplicer.FakeDirection d = awaitDirection();
                Socket a = rig.relayPair.get()[0];
                a.close();
                assertTrue(d.detached);
                assertEquals(1, d.awaitDrainedCalls);
                // the parked up-direction read fails like a blocked read does (the down direction
                // may fail first, on shutdownOutput of the closed socket)
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                while (rig.relayErrors.stream().noneMatch(e -> "Socket closed".equals(e.getMessage()))
                        && System.nanoTime() < deadline) {
                    Thread.sleep(10);
                }
                assertTrue(rig.relayErrors.stream().anyMatch(e -> e instanceof SocketException
                        && "Socket closed".equals(e.getMessage())), rig.relayErrors::toString);
            }
        }
    }

    @Test
    void aSocketThatIsOnlyReadStopsBeingWatched() throws Exception {
        try (java.net.ServerSocket server = new java.net.ServerSocket(0, 5, InetAddress.getLoopbackAddress());
             Socket c = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort());
             Socket s = server.accept()) {
            assertTrue(track(s).isAccepted());
            CompletableFuture<String> sent = CompletableFuture.supplyAsync(() -> {
                try {
                    return LoopbackRig.send(c.getOutputStream(), 160 << 10, 1);
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            InputStream in = s.getInputStream();
            byte[] inBuf = new byte[4096];
            for (int i = 0; i < 40; i++) in.readNBytes(inBuf, 0, inBuf.length);
            sent.get(10, TimeUnit.SECONDS);
            assertEquals(SourceState.NOT_A_RELAY, track(s).state());
            assertEquals(SourceState.UNDECIDED, track(c).state(), "c is only written");
        }
    }

    private UserspaceSplicer.FakeDirection awaitDirection() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (splicer.directions.isEmpty() && System.nanoTime() < deadline) Thread.sleep(10);
        assertNotNull(splicer.directions.isEmpty() ? null : splicer.directions.get(0), "spliced");
        return splicer.directions.get(0);
    }

    private static ThreadFactory virtualThreads() {
        try {
            Object builder = Thread.class.getMethod("ofVirtual").invoke(null);
            return (ThreadFactory) Class.forName("java.lang.Thread$Builder").getMethod("factory").invoke(builder);
        } catch (ReflectiveOperationException e) {
            return null;
        }
    }
}
