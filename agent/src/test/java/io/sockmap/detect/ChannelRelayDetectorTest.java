package io.sockmap.detect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.nio.ByteBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ChannelRelayDetectorTest {
    private static final int MIN = 64 * 1024;

    private static byte[] bytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static ByteBuffer view(byte[] b, int off, int len) {
        return ByteBuffer.wrap(b, off, len);
    }

    @Test
    void aRelayWithReadAheadAndPartialWritesBecomesEligibleOnceNothingIsUnwritten() {
        ChannelRelayDetector d = new ChannelRelayDetector(MIN, null);
        ChannelTrack a = new ChannelTrack();
        ChannelTrack b = new ChannelTrack();
        byte[] data = bytes(4 * MIN, 1);
        // reads ahead 3 chunks, then writes them in uneven pieces (a compacting buffer)
        for (int i = 0; i < 4; i++) d.onRead(a, view(data, i * MIN, MIN));
        assertNull(d.readyToSplice(a), "nothing relayed yet");
        int off = 0;
        for (int piece : new int[] {1000, 50_000, 30_000, 4 * MIN - 81_000}) {
            d.onWrite(b, ByteBuffer.wrap(java.util.Arrays.copyOfRange(data, off, off + piece)));
            off += piece;
            if (off < 4 * MIN) assertNull(d.readyToSplice(a), "bytes read and not written yet");
        }
        assertSame(b, d.readyToSplice(a));
        assertEquals(SourceState.SPLICING, a.state());
    }

    @Test
    void aWriteOfOtherBytesMakesBothDirectionsImpure() {
        ChannelRelayDetector d = new ChannelRelayDetector(MIN, null);
        ChannelTrack a = new ChannelTrack();
        ChannelTrack b = new ChannelTrack();
        byte[] data = bytes(2 * MIN, 2);
        d.onRead(a, view(data, 0, MIN));
        d.onWrite(b, view(data, 0, MIN));
        d.onRead(a, view(data, MIN, MIN));
        byte[] changed = java.util.Arrays.copyOfRange(data, MIN, 2 * MIN);
        changed[10] ^= 1;
        d.onWrite(b, ByteBuffer.wrap(changed));
        assertEquals(SourceState.IMPURE, a.state());
        assertEquals(SourceState.IMPURE, b.state());
        assertNull(d.readyToSplice(a));
    }

    @Test
    void aParsedPreambleIsForgottenWhenTheNextReadIsRelayed() {
        ChannelRelayDetector d = new ChannelRelayDetector(MIN, null);
        ChannelTrack a = new ChannelTrack();
        ChannelTrack b = new ChannelTrack();
        ChannelTrack greeting = new ChannelTrack();
        d.onRead(a, ByteBuffer.wrap("CONNECT host:443 HTTP/1.1\r\n\r\n".getBytes()));
        d.onWrite(a, ByteBuffer.wrap("HTTP/1.1 200 OK\r\n\r\n".getBytes())); // a reply to A matches no source
        d.onWrite(greeting, ByteBuffer.wrap("PROXY TCP4 ...\r\n".getBytes()));
        byte[] data = bytes(2 * MIN, 3);
        d.onRead(a, view(data, 0, 2 * MIN));
        d.onWrite(b, view(data, 0, 2 * MIN));
        assertSame(b, a.target());
        assertSame(b, d.readyToSplice(a));
    }

    @Test
    void aSourceThatIsNeverRelayedStopsBeingWatched() {
        ChannelRelayDetector d = new ChannelRelayDetector(MIN, null);
        ChannelTrack server = new ChannelTrack();
        byte[] data = bytes(64 * 1024, 4);
        for (int i = 0; i <= ChannelRelayDetector.PREAMBLE_LIMIT / data.length; i++) d.onRead(server, view(data, 0, data.length));
        assertEquals(SourceState.NOT_A_RELAY, server.state());
        assertEquals(0, server.pendingBytes(), "its copies are freed");
    }

    @Test
    void theMemoryBudgetBoundsCopies() {
        ChannelRelayDetector d = new ChannelRelayDetector(MIN, null, 1 << 20, 100_000);
        ChannelTrack a = new ChannelTrack();
        ChannelTrack c = new ChannelTrack();
        d.onRead(a, view(bytes(90_000, 5), 0, 90_000));
        d.onRead(c, view(bytes(20_000, 6), 0, 20_000));
        assertEquals(SourceState.UNDECIDED, a.state());
        assertEquals(SourceState.NOT_A_RELAY, c.state());
    }

    @Test
    void connectionsCarryingTheSameBytesAreNeverPairedWithEachOther() {
        ChannelRelayDetector d = new ChannelRelayDetector(MIN, null);
        ChannelTrack a1 = new ChannelTrack();
        ChannelTrack a2 = new ChannelTrack();
        ChannelTrack b1 = new ChannelTrack();
        ChannelTrack b2 = new ChannelTrack();
        byte[] request = bytes(1024, 7);
        // a selector loop reads the same request from two clients, then writes each to its own
        // server in the other order: content alone cannot tell which source fed which target
        for (int i = 0; i < 2 * MIN / 1024; i++) {
            d.onRead(a1, view(request, 0, 1024));
            d.onRead(a2, view(request, 0, 1024));
            d.onWrite(b2, view(request, 0, 1024));
            d.onWrite(b1, view(request, 0, 1024));
        }
        assertNull(d.readyToSplice(a1), "an ambiguous pairing is never spliced");
        assertNull(d.readyToSplice(a2), "an ambiguous pairing is never spliced");
        assertNull(b1.feeder);
        assertNull(b2.feeder);
    }

    @Test
    void aUniqueMatchAttachesEvenWhileOtherConnectionsAreWatched() {
        ChannelRelayDetector d = new ChannelRelayDetector(MIN, null);
        ChannelTrack a1 = new ChannelTrack();
        ChannelTrack a2 = new ChannelTrack();
        ChannelTrack b1 = new ChannelTrack();
        ChannelTrack b2 = new ChannelTrack();
        byte[] one = bytes(2 * MIN, 8);
        byte[] two = bytes(2 * MIN, 9);
        d.onRead(a1, view(one, 0, 2 * MIN));
        d.onRead(a2, view(two, 0, 2 * MIN));
        d.onWrite(b2, view(two, 0, 2 * MIN));
        d.onWrite(b1, view(one, 0, 2 * MIN));
        assertSame(a1, b1.feeder);
        assertSame(a2, b2.feeder);
        assertSame(b1, d.readyToSplice(a1));
        assertSame(b2, d.readyToSplice(a2));
    }
}
