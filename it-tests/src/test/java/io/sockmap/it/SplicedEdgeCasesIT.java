package io.sockmap.it;

import static io.sockmap.it.BlockingProxyAgentIT.artifact;
import static io.sockmap.it.BlockingProxyAgentIT.log;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.sockmap.it.BlockingProxyAgentIT.Child;
import io.sockmap.it.PatternStreams.Receiver;
import io.sockmap.it.PatternStreams.Sender;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The stream semantics a proxy relies on, through the agent, after both directions of a
 * connection are spliced: half-close in either order (the other direction keeps flowing), and a
 * reset from either peer in the middle of a transfer (the other peer sees a reset or EOF, never a
 * hang, and only bytes that were sent, in order). Each example proxy runs in its own JVM with
 * {@code -javaagent:} on JDK 17 and 25; the peers run in this JVM and check every byte against
 * the stream that was sent ({@link PatternStreams}) and SHA-256 both ways. The three example relays
 * propagate a half-close ({@code shutdownOutput()} on EOF, close once both directions ended), so
 * all of them must keep the other direction open. Also: without privileges the same proxy runs in
 * userspace, correct, with one agent line saying why.
 */
class SplicedEdgeCasesIT {
    static final long MIB = 1L << 20;

    static Stream<Arguments> pureRelays() {
        return BlockingProxyAgentIT.pureRelays();
    }

    @ParameterizedTest(name = "{1} on JDK {0}")
    @MethodSource("pureRelays")
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void halfCloseAndResetsOfSplicedConnections(Path jdk, String proxy) throws Exception {
        try (TestBackend backend = new TestBackend();
             Child relay = Child.start(jdk, List.of("-javaagent:" + agentJar(), "-Dsockmap.logLevel=debug"), proxy,
                     "--target", backend.target())) {
            relay.requireSplicing();
            halfCloseClientFirst(relay, backend, true);
            halfCloseServerFirst(relay, backend, true);
            resetBy(true, relay, backend);
            resetBy(false, relay, backend);
            halfCloseClientFirst(relay, backend, true); // the proxy still works
            long[] kernel = relay.stopAndReadSummary();
            assertTrue(kernel[0] > 0 && kernel[1] > 0, relay.stderrText());
            assertEquals(5, pairsSpliced(relay), "five connections, each spliced both ways\n" + relay.stderrText());
        }
    }

    static Stream<Arguments> withAndWithoutAgent() {
        return BlockingProxyAgentIT.jdks().stream().flatMap(j -> Stream.of(Arguments.of(j, true), Arguments.of(j, false)));
    }

    /**
     * A relay that closes both sockets on the first EOF cannot half-close; through the agent it
     * must end the connection as it does without: the client half-closes while the backend is
     * still sending, both peers then see EOF or a reset, no hang, and only a prefix of what was
     * sent (the bytes in flight when the relay closes may be lost, with or without the agent).
     */
    @ParameterizedTest(name = "JDK {0}, agent {1}")
    @MethodSource("withAndWithoutAgent")
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aRelayThatClosesOnTheFirstEofEndsTheConnectionAsWithoutTheAgent(Path jdk, boolean agent) throws Exception {
        List<String> options = new java.util.ArrayList<>();
        if (agent) options.addAll(List.of("-javaagent:" + agentJar(), "-Dsockmap.logLevel=debug"));
        if (agent && Boolean.getBoolean("sockmap.it.relayTrace")) options.add("-Dsockmap.trace=true"); // the engine's trace lines
        try (TestBackend backend = new TestBackend();
             Child relay = OtherRelayStylesIT.startTestRelay(jdk, options, "closeboth", "--target", backend.target());
             Socket client = connect(relay.port);
             Socket server = backend.accept()) {
            if (agent) relay.requireSplicing();
            Sender up = new Sender(client, 81);
            Sender down = new Sender(server, 82);
            Receiver atServer = new Receiver(server, 81, "at-server");
            Receiver atClient = new Receiver(client, 82, "at-client");
            both(up, down, MIB);
            if (agent) awaitSplicedLines(relay, 2);
            AtomicBoolean stop = new AtomicBoolean();
            CompletableFuture<IOException> downLoop = CompletableFuture.supplyAsync(() -> down.sendUntilStopped(stop, 50 * MIB));
            Thread.sleep(100);
            client.shutdownOutput();
            atServer.await(15, "backend after the client's half-close");
            atClient.await(15, "client after its half-close");
            IOException downEnd;
            try {
                downEnd = downLoop.get(15, TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                String sockets = SocketStates.of(relay.port, backend.port());
                long sentThen = down.sent();
                Thread.sleep(1000);
                throw new AssertionError("the backend's writes neither failed nor ended within 15 s of the relay's close; "
                        + "sent " + sentThen + " (" + down.sent() + " a second later), client " + atClient + "\n"
                        + sockets + "\n" + SocketStates.of(relay.port, backend.port()) + "\n"
                        + relay.stderrText() + "\n" + ThreadDumps.of(relay.process, relay.stdout), e);
            }
            stop.set(true);
            for (Receiver r : List.of(atServer, atClient)) {
                assertTrue(r.end().equals("eof") || r.end().contains("reset"), r.toString());
                assertEquals(-1, r.mismatchAt(), "bytes that were not sent: " + r);
            }
            assertTrue(atServer.received() <= up.sent() && atClient.received() <= down.sent() + 256 * 1024);
            assertTrue(downEnd != null, "the backend's writes fail once the relay closed");
            SplicedTimeoutAndReaperIT.awaitLine(relay, "relay exited up");
            SplicedTimeoutAndReaperIT.awaitLine(relay, "relay exited down");
            log("close on first EOF, JDK " + BlockingProxyAgentIT.feature(jdk) + ", agent " + agent + ": backend " + atServer
                    + " of " + up.sent() + ", client " + atClient + " of " + down.sent());
            if (Boolean.getBoolean("sockmap.it.relayTrace")) log("relay's log:\n" + relay.stderrText());
        }
    }

    /** Without CAP_BPF/CAP_NET_ADMIN: userspace, correct, and one line that says why. */
    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void withoutPrivilegesTheProxyRelaysInUserspaceWithOneLineSayingWhy(@TempDir Path tmp) throws Exception {
        // copies readable by uid 65534 (the build tree may be in a private folder)
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path agent = Files.copy(agentJar(), tmp.resolve("sockmap-agent.jar"));
        Path examples = Files.copy(artifact("sockmap.examples.jar", "examples/target/sockmap-examples.jar"),
                tmp.resolve("sockmap-examples.jar"));
        for (Path p : List.of(agent, examples)) Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rw-r--r--"));
        Path childTmp = Files.createDirectory(tmp.resolve("tmp"));
        Files.setPosixFilePermissions(childTmp, PosixFilePermissions.fromString("rwxrwxrwx"));
        List<String> setpriv = AgentPackagingIT.unprivileged();
        try (TestBackend backend = new TestBackend();
             Child relay = Child.start(setpriv, BlockingProxyAgentIT.currentJdk(),
                     List.of("-javaagent:" + agent, "-Djava.io.tmpdir=" + childTmp), examples.toString(),
                     "io.sockmap.examples.ThreadPairProxy", "--target", backend.target())) {
            halfCloseClientFirst(relay, backend, false);
            halfCloseServerFirst(relay, backend, false);
            List<String> lines = sockmapLines(relay);
            assertEquals(1, lines.size(), "one agent line: " + relay.stderrText());
            assertTrue(lines.get(0).matches("\\[sockmap] INFO sockmap-agent \\S+ on Linux \\S+ \\(JDK \\S+\\): off: .*"
                    + "(CAP_BPF|EPERM).*"), lines.get(0));
            long[] kernel = relay.stopAndReadSummary();
            assertEquals(0, kernel[0] + kernel[1]);
            assertEquals(2, sockmapLines(relay).size(), "the start-up line and the summary: " + relay.stderrText());
        }
    }

    // ------------------------------------------------------------------ scenarios

    /** The client half-closes first; the backend keeps sending after it saw the client's EOF. */
    static void halfCloseClientFirst(Child relay, TestBackend backend, boolean spliced) throws Exception {
        long before = splicedLines(relay);
        try (Socket client = connect(relay.port); Socket server = backend.accept()) {
            Sender up = new Sender(client, 11);
            Sender down = new Sender(server, 12);
            Receiver atServer = new Receiver(server, 11, "at-server");
            Receiver atClient = new Receiver(client, 12, "at-client");
            both(up, down, MIB);
            if (spliced) awaitSplicedLines(relay, before + 2);
            up.send(2 * MIB);
            client.shutdownOutput();
            atServer.await(30, "backend reading the client's stream");
            assertEquals("eof", atServer.end(), atServer.toString());
            assertEquals(up.sha256(), atServer.sha256(), "client -> backend");
            down.send(4 * MIB); // after the client's half-close
            server.shutdownOutput();
            atClient.await(30, "client reading after its half-close");
            assertEquals("eof", atClient.end(), atClient.toString());
            assertEquals(down.sha256(), atClient.sha256(), "backend -> client after the client's half-close");
        }
        log("half-close client first through " + relay.port + ": ok");
    }

    /** The backend half-closes first; the client keeps sending after it saw the backend's EOF. */
    static void halfCloseServerFirst(Child relay, TestBackend backend, boolean spliced) throws Exception {
        long before = splicedLines(relay);
        try (Socket client = connect(relay.port); Socket server = backend.accept()) {
            Sender up = new Sender(client, 21);
            Sender down = new Sender(server, 22);
            Receiver atServer = new Receiver(server, 21, "at-server");
            Receiver atClient = new Receiver(client, 22, "at-client");
            both(up, down, MIB);
            if (spliced) awaitSplicedLines(relay, before + 2);
            down.send(2 * MIB);
            server.shutdownOutput();
            atClient.await(30, "client reading the backend's stream");
            assertEquals("eof", atClient.end(), atClient.toString());
            assertEquals(down.sha256(), atClient.sha256(), "backend -> client");
            up.send(4 * MIB); // after the backend's half-close
            client.shutdownOutput();
            atServer.await(30, "backend reading after its half-close");
            assertEquals("eof", atServer.end(), atServer.toString());
            assertEquals(up.sha256(), atServer.sha256(), "client -> backend after the backend's half-close");
        }
        log("half-close backend first through " + relay.port + ": ok");
    }

    /**
     * Both peers stream; once both directions are spliced, one peer resets (SO_LINGER 0, close).
     * The other must see EOF or a reset within 15 s, with only bytes that were sent, in order.
     */
    static void resetBy(boolean clientResets, Child relay, TestBackend backend) throws Exception {
        long before = splicedLines(relay);
        Socket client = connect(relay.port);
        Socket server = backend.accept();
        try {
            Sender up = new Sender(client, 31);
            Sender down = new Sender(server, 32);
            Receiver atServer = new Receiver(server, 31, "at-server");
            Receiver atClient = new Receiver(client, 32, "at-client");
            both(up, down, MIB);
            awaitSplicedLines(relay, before + 2);
            AtomicBoolean stop = new AtomicBoolean();
            CompletableFuture<IOException> upLoop = CompletableFuture.supplyAsync(() -> up.sendUntilStopped(stop, 50 * MIB));
            CompletableFuture<IOException> downLoop = CompletableFuture.supplyAsync(() -> down.sendUntilStopped(stop, 50 * MIB));
            Thread.sleep(200);
            Socket resetter = clientResets ? client : server;
            resetter.setSoLinger(true, 0);
            resetter.close();
            Receiver other = clientResets ? atServer : atClient;
            Sender resetSender = clientResets ? up : down;
            String who = clientResets ? "backend after the client's reset" : "client after the backend's reset";
            other.await(15, who);
            assertTrue(other.end().equals("eof") || other.end().contains("reset") || other.end().contains("closed"), who + ": " + other);
            assertEquals(-1, other.mismatchAt(), who + " received bytes that were not sent: " + other);
            // what the resetting side sent after the last check may be counted before it was written
            assertTrue(other.received() <= resetSender.sent() + 256 * 1024, who + ": " + other + " of " + resetSender.sent());
            // the other peer's writes fail too, once the proxy closed its side
            IOException failed = (clientResets ? downLoop : upLoop).get(15, TimeUnit.SECONDS);
            stop.set(true);
            log((clientResets ? "client" : "backend") + " reset through " + relay.port + ": " + who + " " + other
                    + ", its own writes ended with " + failed);
            assertTrue(failed != null, who + ": writes still accepted 15 s after the reset");
            (clientResets ? upLoop : downLoop).get(15, TimeUnit.SECONDS);
        } finally {
            client.close();
            server.close();
        }
    }

    // ------------------------------------------------------------------ helpers

    static Path agentJar() {
        return artifact("sockmap.agent.jar", "agent/target/sockmap-agent.jar");
    }

    static Socket connect(int port) throws IOException {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), port);
        s.setTcpNoDelay(true);
        return s;
    }

    /** Sends {@code bytes} in each direction at once. */
    static void both(Sender up, Sender down, long bytes) throws Exception {
        CompletableFuture<Void> d = CompletableFuture.runAsync(() -> {
            try {
                down.send(bytes);
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        up.send(bytes);
        d.get(30, TimeUnit.SECONDS);
    }

    static long splicedLines(Child relay) {
        return relay.stderr.stream().filter(l -> l.contains("DEBUG spliced ")).count();
    }

    static void awaitSplicedLines(Child relay, long atLeast) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (splicedLines(relay) < atLeast) {
            if (System.nanoTime() > deadline) fail("not spliced: " + splicedLines(relay) + " of " + atLeast
                    + " 'spliced' lines\n" + relay.stderrText());
            Thread.sleep(5);
        }
    }

    /** "pairs spliced N" from the summary line (after {@code stopAndReadSummary}). */
    static long pairsSpliced(Child relay) {
        for (String l : relay.stderr) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("summary: pairs spliced (\\d+),").matcher(l);
            if (m.find()) return Long.parseLong(m.group(1));
        }
        throw new AssertionError("no summary line\n" + relay.stderrText());
    }

    static List<String> sockmapLines(Child relay) {
        return relay.stderr.stream().filter(l -> l.startsWith("[sockmap] ")).collect(Collectors.toList());
    }
}
