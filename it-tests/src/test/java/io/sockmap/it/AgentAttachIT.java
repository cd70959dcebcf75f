package io.sockmap.it;

import static io.sockmap.it.BlockingProxyAgentIT.feature;
import static io.sockmap.it.BlockingProxyAgentIT.log;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.tools.attach.VirtualMachine;
import io.sockmap.it.BlockingProxyAgentIT.Child;
import io.sockmap.it.PatternStreams.Receiver;
import io.sockmap.it.PatternStreams.Sender;
import java.net.Socket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * agentmain: the example thread-pair proxy starts without the agent and serves a connection; this
 * test then loads the agent into it through the Attach API ({@code VirtualMachine.loadAgent}), on
 * JDK 17 and 25. A connection opened after the attach is spliced (kernel share logged, floor as in
 * {@link OtherRelayStylesIT}, the proxy's
 * {@code rchar} flat), and the connection opened before the attach, whose relay threads were
 * blocked in reads when the classes were retransformed, keeps relaying every byte in order and
 * half-closes as before.
 */
class AgentAttachIT {
    static final long MIB = 1L << 20;
    static final long BYTES = 32 * MIB;

    static Stream<Arguments> jdks() {
        return BlockingProxyAgentIT.jdks().stream().map(Arguments::of);
    }

    @ParameterizedTest(name = "JDK {0}")
    @MethodSource("jdks")
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void attachedToARunningProxyNewConnectionsAreSplicedAndOldOnesKeepWorking(Path jdk) throws Exception {
        List<String> options = new ArrayList<>();
        if (feature(jdk) >= 21) options.add("-XX:+EnableDynamicAgentLoading"); // no warning on JDK 21+
        if (Boolean.getBoolean("sockmap.it.trace")) options.add("-Dsockmap.trace=true");
        try (TestBackend backend = new TestBackend();
             Child relay = Child.start(jdk, options, "ThreadPairProxy", "--target", backend.target());
             Socket oldClient = SplicedEdgeCasesIT.connect(relay.port);
             Socket oldServer = backend.accept()) {
            Sender oldUp = new Sender(oldClient, 71);
            Sender oldDown = new Sender(oldServer, 72);
            Receiver oldAtServer = new Receiver(oldServer, 71, "old-at-server");
            Receiver oldAtClient = new Receiver(oldClient, 72, "old-at-client");
            SplicedEdgeCasesIT.both(oldUp, oldDown, MIB);
            oldAtServer.awaitAtLeast(MIB, 10);
            oldAtClient.awaitAtLeast(MIB, 10);

            VirtualMachine vm = VirtualMachine.attach(String.valueOf(relay.process.pid()));
            try {
                vm.loadAgent(SplicedEdgeCasesIT.agentJar().toString(), "logLevel=debug");
            } finally {
                vm.detach();
            }
            relay.requireSplicing();

            long rcharBefore = relay.rchar();
            try (Socket client = SplicedEdgeCasesIT.connect(relay.port); Socket server = backend.accept()) {
                Sender up = new Sender(client, 73);
                Sender down = new Sender(server, 74);
                Receiver atServer = new Receiver(server, 73, "at-server");
                Receiver atClient = new Receiver(client, 74, "at-client");
                CompletableFuture<Void> d = CompletableFuture.runAsync(() -> {
                    try {
                        down.send(BYTES);
                        server.shutdownOutput();
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                });
                up.send(BYTES);
                client.shutdownOutput();
                d.get(60, TimeUnit.SECONDS);
                atServer.await(60, "backend of the new connection");
                atClient.await(60, "client of the new connection");
                assertEquals(up.sha256(), atServer.sha256());
                assertEquals(down.sha256(), atClient.sha256());
            }
            long rcharDelta = relay.rchar() - rcharBefore;
            assertTrue(SplicedEdgeCasesIT.splicedLines(relay) >= 2, relay.stderrText());
            assertTrue(rcharDelta < 2 * BYTES / 100, "the proxy read " + rcharDelta + " bytes itself\n" + relay.stderrText());

            // the connection from before the attach: more bytes both ways, then half-closes
            SplicedEdgeCasesIT.both(oldUp, oldDown, 4 * MIB);
            oldClient.shutdownOutput();
            oldAtServer.await(30, "backend of the connection opened before the attach");
            oldDown.send(MIB);
            oldServer.shutdownOutput();
            oldAtClient.await(30, "client of the connection opened before the attach");
            assertEquals("eof", oldAtServer.end());
            assertEquals("eof", oldAtClient.end());
            assertEquals(oldUp.sha256(), oldAtServer.sha256(), "old connection, client -> backend");
            assertEquals(oldDown.sha256(), oldAtClient.sha256(), "old connection, backend -> client");

            long[] kernel = relay.stopAndReadSummary();
            log("attach on JDK " + feature(jdk) + ": new connection 2 x " + BYTES + " bytes, proxy rchar +" + rcharDelta
                    + ", kernel c->s " + kernel[0] + " s->c " + kernel[1]);
            assertTrue(SplicedEdgeCasesIT.pairsSpliced(relay) >= 1, relay.stderrText());
            // per direction: the connection accepted right after the attach was accepted by a call
            // that started before the retransformation, so the agent orients it by pair, not by accept
            assertTrue(kernel[0] >= BYTES * OtherRelayStylesIT.MIN_SHARE_PERCENT / 100
                            && kernel[1] >= BYTES * OtherRelayStylesIT.MIN_SHARE_PERCENT / 100,
                    "kernel bytes c->s " + kernel[0] + ", s->c " + kernel[1] + "\n" + relay.stderrText());
        }
    }
}
