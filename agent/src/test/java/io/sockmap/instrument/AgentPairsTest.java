package io.sockmap.instrument;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.Socket;
import org.junit.jupiter.api.Test;

import io.sockmap.detect.RelayDetector;

class AgentPairsTest {
    private final SocketRegistry registry = new SocketRegistry();
    private final AgentPairs pairs = registry.pairs();

    /** What SpliceHooks does before it hands a direction to the engine. */
    private SpliceLink link(TrackedSocket source, TrackedSocket target) {
        SpliceLink l = new SpliceLink(source, new Socket(), target, new Socket(), registry);
        source.asSource = l;
        pairs.enter(l, RelayDetector.sourceIsA(source, target));
        return l;
    }

    @Test
    void bothDirectionsOfOneSocketPairAreOnePairCountedAtTheFirst() {
        TrackedSocket client = new TrackedSocket(new Socket());
        TrackedSocket server = new TrackedSocket(new Socket());
        client.markAccepted();
        SpliceLink down = link(server, client);
        assertFalse(down.pair.aToB(), "server -> client");
        pairs.started(down.pair);
        assertArrayEquals(new long[] {1, 1}, pairs.counts(), "a one-direction splice is a pair");
        SpliceLink up = link(client, server);
        assertTrue(up.pair.aToB());
        pairs.started(up.pair);
        assertArrayEquals(new long[] {1, 1}, pairs.counts(), "the second direction joins the first's pair");
        up.onEof();
        assertArrayEquals(new long[] {1, 1}, pairs.counts(), "active while a direction is live");
        down.onAbort(new IOException("reset"));
        assertArrayEquals(new long[] {1, 0}, pairs.counts());
        down.onEof();
        assertArrayEquals(new long[] {1, 0}, pairs.counts(), "an end is counted once");
    }

    @Test
    void withoutAnAcceptedSocketTheSecondDirectionCountsTheOtherWay() {
        // the agent was attached while the proxy waited in accept(): no socket is known as accepted
        TrackedSocket x = new TrackedSocket(new Socket());
        TrackedSocket y = new TrackedSocket(new Socket());
        SpliceLink first = link(x, y);
        SpliceLink second = link(y, x);
        assertTrue(first.pair.aToB());
        assertFalse(second.pair.aToB());
    }

    @Test
    void aDirectionThatEndsBeforeItIsCountedLeavesNoActivePair() {
        TrackedSocket x = new TrackedSocket(new Socket());
        TrackedSocket y = new TrackedSocket(new Socket());
        SpliceLink l = link(x, y);
        l.onEof(); // the engine's watcher was faster than the relay thread
        pairs.started(l.pair);
        assertArrayEquals(new long[] {1, 0}, pairs.counts());
    }

    @Test
    void aRefusedDirectionIsNotCounted() {
        TrackedSocket x = new TrackedSocket(new Socket());
        TrackedSocket y = new TrackedSocket(new Socket());
        SpliceLink l = link(x, y);
        l.refused();
        assertArrayEquals(new long[] {0, 0}, pairs.counts());
    }

    @Test
    void twoDirectionsHandedOverAtOnceShareOnePair() throws Exception {
        for (int round = 0; round < 200; round++) {
            TrackedSocket client = new TrackedSocket(new Socket());
            TrackedSocket server = new TrackedSocket(new Socket());
            SpliceLink up = new SpliceLink(client, new Socket(), server, new Socket(), registry);
            SpliceLink down = new SpliceLink(server, new Socket(), client, new Socket(), registry);
            java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(2);
            Thread t = new Thread(() -> {
                try {
                    start.await();
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
                server.asSource = down;    // as SpliceHooks does, before it enters
                pairs.enter(down, false);
                pairs.started(down.pair);
            });
            t.start();
            start.await();
            client.asSource = up;
            pairs.enter(up, true);
            pairs.started(up.pair);
            t.join();
            assertTrue(up.pair.aToB() != down.pair.aToB(), "they count opposite ways");
        }
        assertArrayEquals(new long[] {200, 200}, pairs.counts(), "one pair per socket pair");
    }
}
