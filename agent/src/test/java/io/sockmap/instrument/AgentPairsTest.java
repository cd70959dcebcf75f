package io.sockmap.instrument;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.Socket;
import org.junit.jupiter.api.Test;

class AgentPairsTest {
    private final SocketRegistry registry = new SocketRegistry();
    private final AgentPairs pairs = registry.pairs();

    private SpliceLink link(TrackedSocket source, TrackedSocket target) {
        SpliceLink l = new SpliceLink(source, new Socket(), target, new Socket(), registry);
        source.asSource = l;
        pairs.enter(l);
        return l;
    }

    @Test
    void bothDirectionsOfOneSocketPairAreOnePairCountedAtTheFirst() {
        TrackedSocket client = new TrackedSocket(new Socket());
        TrackedSocket server = new TrackedSocket(new Socket());
        client.markAccepted();
        SpliceLink down = link(server, client);
        assertFalse(down.aToB, "server -> client");
        pairs.started(down);
        assertArrayEquals(new long[] {1, 1}, pairs.counts(), "a one-direction splice is a pair");
        SpliceLink up = link(client, server);
        assertTrue(up.aToB);
        assertSame(down.pair, up.pair);
        pairs.started(up);
        assertArrayEquals(new long[] {1, 1}, pairs.counts());
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
        assertTrue(first.aToB);
        assertFalse(second.aToB);
    }

    @Test
    void aDirectionThatEndsBeforeItIsCountedLeavesNoActivePair() {
        TrackedSocket x = new TrackedSocket(new Socket());
        TrackedSocket y = new TrackedSocket(new Socket());
        SpliceLink l = link(x, y);
        l.onEof(); // the engine's watcher was faster than the relay thread
        pairs.started(l);
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
}
