package io.sockmap.detect;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RelayDetectorTest {
    private static final int MIN = 64 * 1024;
    private final RelayDetector detector = new RelayDetector(MIN, SpliceFilter.ACCEPT_ALL);
    private final ThreadTrack relay = new ThreadTrack();
    private final SocketTrack a = new SocketTrack();
    private final SocketTrack b = new SocketTrack();
    private final Random random = new Random(42);

    private byte[] fill(byte[] buf, int off, int n) {
        byte[] chunk = new byte[n];
        random.nextBytes(chunk);
        System.arraycopy(chunk, 0, buf, off, n);
        return buf;
    }

    /** One loop iteration of a copy relay: read n bytes into buf[off..], write them in one call. */
    private void relayOnce(byte[] buf, int off, int n) {
        assertNull(detector.readyToSplice(relay, a));
        fill(buf, off, n);
        detector.onRead(relay, a, buf, off, n);
        detector.onWrite(relay, b, buf, off, n);
    }

    @Test
    void exactWritesCountUntilTheThresholdThenTheNextReadHandsOver() {
        byte[] buf = new byte[8192];
        for (int i = 0; i < MIN / 8192; i++) relayOnce(buf, 0, 8192);
        assertEquals(MIN, a.relayedBytes());
        assertSame(b, a.target());
        assertSame(b, detector.readyToSplice(relay, a));
        assertEquals(SourceState.SPLICING, a.state());
        a.spliced();
        assertEquals(SourceState.SPLICED, a.state());
        assertNull(detector.readyToSplice(relay, a), "decided sockets are never offered again");
    }

    @Test
    void belowTheThresholdNothingIsEligible() {
        byte[] buf = new byte[8192];
        for (int i = 0; i < MIN / 8192 - 1; i++) relayOnce(buf, 0, 8192);
        fill(buf, 0, 8191);
        detector.onRead(relay, a, buf, 0, 8191);
        detector.onWrite(relay, b, buf, 0, 8191);
        assertEquals(MIN - 1, a.relayedBytes());
        assertNull(detector.readyToSplice(relay, a));
        assertEquals(SourceState.UNDECIDED, a.state());
    }

    @Test
    void chunkedWritesOfOneReadCountOnceComplete() {
        byte[] buf = new byte[20000];
        for (int i = 0; i < 5; i++) {
            fill(buf, 100, 16000);
            detector.onRead(relay, a, buf, 100, 16000);
            detector.onWrite(relay, b, buf, 100, 4000);
            assertEquals(i * 16000L + 4000, a.relayedBytes(), "written bytes count as they are written");
            assertNull(detector.readyToSplice(relay, a), "not all written: no handover");
            detector.onWrite(relay, b, buf, 4100, 10000);
            detector.onWrite(relay, b, buf, 14100, 2000);
        }
        assertEquals(80000, a.relayedBytes());
        assertSame(b, detector.readyToSplice(relay, a));
    }

    @Test
    void aTransformingWriteMakesTheSourceImpureForever() {
        byte[] buf = new byte[8192];
        byte[] out = new byte[8192];
        fill(buf, 0, 8192);
        detector.onRead(relay, a, buf, 0, 8192);
        for (int i = 0; i < 8192; i++) out[i] = (byte) Character.toUpperCase(buf[i]);
        detector.onWrite(relay, b, out, 0, 8192);
        assertEquals(SourceState.IMPURE, a.state());
        assertEquals(SourceState.IMPURE, b.state(), "the reverse direction of a transforming proxy is not spliced either");
        for (int i = 0; i < 100; i++) relayOnce(buf, 0, 8192);
        assertNull(detector.readyToSplice(relay, a));
        assertEquals(0, a.relayedBytes(), "no counting once decided");
    }

    @Test
    void modifyingTheBufferInPlaceIsCaught() {
        byte[] buf = new byte[8192];
        relayOnce(buf, 0, 8192);
        fill(buf, 0, 8192);
        detector.onRead(relay, a, buf, 0, 8192);
        buf[17] ^= 0x20;
        detector.onWrite(relay, b, buf, 0, 8192);
        assertEquals(SourceState.IMPURE, a.state());
    }

    @Test
    void injectedBytesAfterRelayingStartedAreImpure() {
        byte[] buf = new byte[8192];
        relayOnce(buf, 0, 8192);
        detector.onWrite(relay, b, "X-Injected: 1\r\n".getBytes(), 0, 15);
        assertEquals(SourceState.IMPURE, a.state());
    }

    @Test
    void aPartialOrShiftedWriteIsImpure() {
        byte[] buf = new byte[8192];
        fill(buf, 0, 8192);
        detector.onRead(relay, a, buf, 0, 8192);
        detector.onWrite(relay, b, buf, 1, 100);
        assertEquals(SourceState.IMPURE, a.state());
    }

    @Test
    void readingAgainBeforeWritingAllIsFineButDroppingBytesIsImpure() {
        byte[] buf = new byte[8192];
        relayOnce(buf, 0, 8192);
        fill(buf, 0, 8192);
        detector.onRead(relay, a, buf, 0, 8192);
        detector.onWrite(relay, b, buf, 0, 100);
        assertNull(detector.readyToSplice(relay, a), "not relaying: it did not write everything");
        byte[] next = fill(new byte[10], 0, 10);
        detector.onRead(relay, a, next, 0, 10);
        assertEquals(SourceState.UNDECIDED, a.state(), "a relay may read ahead (BufferedInputStream, readFully)");
        detector.onWrite(relay, b, next, 0, 10); // skips buf[100..8192): drops bytes
        assertEquals(SourceState.IMPURE, a.state());
    }

    @Test
    void aParsedPreambleIsNotRelayedButDoesNotSpoilTheRelayAfterIt() {
        // CONNECT proxy: read the request, answer on A, then relay
        byte[] req = "CONNECT backend:80 HTTP/1.1\r\n\r\n".getBytes();
        byte[] buf = new byte[8192];
        System.arraycopy(req, 0, buf, 0, req.length);
        detector.onRead(relay, a, buf, 0, req.length);
        detector.onWrite(relay, a, "HTTP/1.1 200 OK\r\n\r\n".getBytes(), 0, 19);
        assertNull(detector.readyToSplice(relay, a));
        assertEquals(SourceState.UNDECIDED, a.state());
        for (int i = 0; i < MIN / 8192; i++) relayOnce(buf, 0, 8192);
        assertSame(b, detector.readyToSplice(relay, a));
    }

    @Test
    void writingToASecondSocketIsImpure() {
        SocketTrack c = new SocketTrack();
        byte[] buf = new byte[8192];
        relayOnce(buf, 0, 8192);
        fill(buf, 0, 8192);
        detector.onRead(relay, a, buf, 0, 8192);
        detector.onWrite(relay, b, buf, 0, 8192);
        detector.onWrite(relay, c, buf, 0, 8192); // a tee
        assertEquals(SourceState.IMPURE, a.state());
    }

    @Test
    void aThreadThatAlsoReadsTheOtherSideIsNotDedicated() {
        byte[] buf = new byte[8192];
        ThreadTrack single = new ThreadTrack();
        for (int i = 0; i < MIN / 8192; i++) {
            fill(buf, 0, 8192);
            detector.onRead(single, a, buf, 0, 8192);
            detector.onWrite(single, b, buf, 0, 8192);
            fill(buf, 0, 1000);
            detector.onRead(single, b, buf, 0, 1000);
            detector.onWrite(single, a, buf, 0, 1000);
        }
        assertEquals(SourceState.NOT_DEDICATED, a.state());
        assertNull(detector.readyToSplice(single, a));
    }

    @Test
    void aThreadPoolThreadMayMoveOnAfterEof() {
        byte[] buf = new byte[8192];
        relayOnce(buf, 0, 8192);
        detector.onRead(relay, a, buf, 0, -1);
        assertEquals(SourceState.ENDED, a.state());
        SocketTrack a2 = new SocketTrack();
        SocketTrack b2 = new SocketTrack();
        for (int i = 0; i < MIN / 8192; i++) {
            fill(buf, 0, 8192);
            detector.onRead(relay, a2, buf, 0, 8192);
            detector.onWrite(relay, b2, buf, 0, 8192);
        }
        assertSame(b2, detector.readyToSplice(relay, a2));
    }

    @Test
    void twoReadersOfOneSocketAreNotDedicated() {
        byte[] buf = new byte[8192];
        ThreadTrack other = new ThreadTrack();
        relayOnce(buf, 0, 8192);
        detector.onRead(other, a, buf, 0, 10);
        assertEquals(SourceState.NOT_DEDICATED, a.state());
    }

    @Test
    void aTargetWrittenByAnotherThreadIsNotSpliced() {
        byte[] buf = new byte[8192];
        for (int i = 0; i < MIN / 8192; i++) relayOnce(buf, 0, 8192);
        detector.onWrite(new ThreadTrack(), b, new byte[]{1}, 0, 1);
        assertNull(detector.readyToSplice(relay, a));
        assertEquals(SourceState.NOT_DEDICATED, a.state());
    }

    @Test
    void theFilterIsAskedOnceAndCanRefuse() {
        int[] asked = {0};
        RelayDetector filtered = new RelayDetector(MIN, (s, t) -> {
            asked[0]++;
            return false;
        });
        byte[] buf = new byte[8192];
        for (int i = 0; i < MIN / 8192 + 3; i++) {
            filtered.readyToSplice(relay, a);
            fill(buf, 0, 8192);
            filtered.onRead(relay, a, buf, 0, 8192);
            filtered.onWrite(relay, b, buf, 0, 8192);
        }
        assertNull(filtered.readyToSplice(relay, a));
        assertEquals(1, asked[0]);
        assertEquals(SourceState.FILTERED, a.state());
    }

    @Test
    void closedSourcesAndTargetsAreNotSpliced() {
        byte[] buf = new byte[8192];
        for (int i = 0; i < MIN / 8192; i++) relayOnce(buf, 0, 8192);
        b.markClosed();
        assertNull(detector.readyToSplice(relay, a));
        assertEquals(SourceState.ENDED, a.state());
        a.markClosed();
        assertEquals(SourceState.ENDED, a.state());
    }

    @Test
    void refusedIsFinal() {
        byte[] buf = new byte[8192];
        for (int i = 0; i < MIN / 8192; i++) relayOnce(buf, 0, 8192);
        assertSame(b, detector.readyToSplice(relay, a));
        a.refused("SOCKET_BUSY");
        assertEquals(SourceState.REFUSED, a.state());
        relayOnce(buf, 0, 8192);
        assertNull(detector.readyToSplice(relay, a));
    }

    @Test
    void orientationFollowsTheAcceptedSide() {
        SocketTrack client = new SocketTrack();
        SocketTrack server = new SocketTrack();
        client.markAccepted();
        assertTrue(RelayDetector.sourceIsA(client, server));
        assertFalse(RelayDetector.sourceIsA(server, client));
        SocketTrack x = new SocketTrack();
        SocketTrack y = new SocketTrack();
        assertTrue(RelayDetector.sourceIsA(x, y), "neither accepted: the source is A");
    }

    @Test
    void aSocketThatIsOnlyReadStopsBeingWatched() {
        byte[] buf = new byte[8192];
        for (int i = 0; i <= MIN / 8192; i++) {
            fill(buf, 0, 8192);
            detector.onRead(relay, a, buf, 0, 8192);
        }
        assertEquals(SourceState.NOT_A_RELAY, a.state());
    }

    @Test
    void theSameBytesFromAnotherArrayAreRelayed() {
        // BufferedInputStream / BufferedOutputStream: read into one buffer, written from a copy
        byte[] in = new byte[8192];
        for (int i = 0; i < MIN / 8192; i++) {
            fill(in, 0, 8192);
            detector.onRead(relay, a, in, 0, 8192);
            byte[] copy = Arrays.copyOf(in, 8192);
            detector.onWrite(relay, b, copy, 0, 5000);
            assertNull(detector.readyToSplice(relay, a));
            detector.onWrite(relay, b, copy, 5000, 3192);
        }
        assertEquals(MIN, a.relayedBytes());
        assertSame(b, detector.readyToSplice(relay, a));
    }

    @Test
    void severalReadsIntoOneBufferThenOneWrite() {
        // DataInputStream.readFully / readNBytes: the frame is filled by several reads
        byte[] frame = new byte[16384];
        for (int i = 0; i < MIN / 16384; i++) {
            fill(frame, 0, 16384);
            detector.onRead(relay, a, frame, 0, 1000);
            assertNull(detector.readyToSplice(relay, a), "never hand over with bytes read and not written");
            detector.onRead(relay, a, frame, 1000, 7000);
            detector.onRead(relay, a, frame, 8000, 8384);
            detector.onWrite(relay, b, frame, 0, 16384);
        }
        assertSame(b, detector.readyToSplice(relay, a));
    }

    @Test
    void oneByteReadsAndWritesWithFreshArrays() {
        // InputStream.read() / OutputStream.write(int): a new one-byte array per call
        for (int i = 0; i < 100; i++) {
            byte[] one = fill(new byte[1], 0, 1);
            detector.onRead(relay, a, one, 0, 1);
            detector.onWrite(relay, b, new byte[] {one[0]}, 0, 1);
        }
        byte[] buf = new byte[8192];
        for (int i = 0; i < MIN / 8192; i++) relayOnce(buf, 0, 8192);
        assertSame(b, detector.readyToSplice(relay, a));
    }

    @Test
    void aBufferedTransformationIsImpure() {
        byte[] in = new byte[8192];
        fill(in, 0, 8192);
        detector.onRead(relay, a, in, 0, 8192);
        byte[] out = Arrays.copyOf(in, 8192);
        out[8000] ^= 1;
        detector.onWrite(relay, b, out, 0, 4096);
        assertEquals(SourceState.UNDECIDED, a.state());
        detector.onWrite(relay, b, out, 4096, 4096);
        assertEquals(SourceState.IMPURE, a.state());
    }

    @Test
    void aPreambleOfSeveralReadsBeforeTheRelayedOne() {
        // SOCKS5: greeting, request (answered on A), then data; the data is written from a copy
        byte[] buf = new byte[8192];
        detector.onRead(relay, a, new byte[] {5, 1, 0}, 0, 3);
        detector.onWrite(relay, a, new byte[] {5, 0}, 0, 2);
        detector.onRead(relay, a, new byte[] {5, 1, 0, 1, 10, 0, 0, 1, 0, 80}, 0, 10);
        detector.onWrite(relay, a, new byte[10], 0, 10);
        fill(buf, 0, 8192);
        detector.onRead(relay, a, buf, 0, 8192);
        detector.onWrite(relay, b, Arrays.copyOf(buf, 8192), 0, 8192);
        assertEquals(SourceState.UNDECIDED, a.state(), a.reason());
        assertEquals(8192, a.relayedBytes());
        for (int i = 0; i < MIN / 8192 - 1; i++) relayOnce(buf, 0, 8192);
        assertSame(b, detector.readyToSplice(relay, a));
    }

    @Test
    void aRelayReadingFarAheadOfItsWritesIsNotSpliced() {
        byte[] buf = new byte[1 << 20];
        relayOnce(buf, 0, 8192);
        for (int i = 0; i <= ThreadTrack.MAX_PENDING / buf.length; i++) {
            fill(buf, 0, buf.length);
            detector.onRead(relay, a, buf, 0, buf.length);
        }
        assertEquals(SourceState.NOT_A_RELAY, a.state());
    }

    @Test
    void aConnectionThreadThatAnsweredAHandshakeHandsOverToRelayThreads() {
        // the connection thread writes a header to B, reads a greeting from A, answers on A,
        // then starts one relay thread per direction and returns
        ThreadTrack connection = new ThreadTrack();
        ThreadTrack up = relay;
        ThreadTrack down = new ThreadTrack();
        detector.onWrite(connection, b, "PROXY TCP4 1.2.3.4\r\n".getBytes(), 0, 20);
        detector.onRead(connection, a, fill(new byte[16], 0, 16), 0, 16);
        detector.onWrite(connection, a, "WELCOME\n".getBytes(), 0, 8);
        byte[] bufUp = new byte[8192];
        byte[] bufDown = new byte[8192];
        for (int i = 0; i < MIN / 8192; i++) {
            fill(bufUp, 0, 8192);
            detector.onRead(up, a, bufUp, 0, 8192);
            detector.onWrite(up, b, bufUp, 0, 8192);
            fill(bufDown, 0, 8192);
            detector.onRead(down, b, bufDown, 0, 8192);
            detector.onWrite(down, a, bufDown, 0, 8192);
        }
        assertSame(b, detector.readyToSplice(up, a), a.reason());
        assertSame(a, detector.readyToSplice(down, b), b.reason());
    }

    @Test
    void aThreadThatReadAHandshakeAndThenRelaysTheOtherWayLeavesTheSourceToItsRelay() {
        // the connection thread reads the request from A, then itself relays B -> A
        byte[] buf = new byte[8192];
        detector.onRead(relay, a, fill(new byte[40], 0, 40), 0, 40);
        ThreadTrack up = new ThreadTrack();
        for (int i = 0; i < MIN / 8192; i++) {
            fill(buf, 0, 8192);
            detector.onRead(relay, b, buf, 0, 8192);
            detector.onWrite(relay, a, buf, 0, 8192);
            byte[] other = fill(new byte[8192], 0, 8192);
            detector.onRead(up, a, other, 0, 8192);
            detector.onWrite(up, b, other, 0, 8192);
        }
        assertSame(a, detector.readyToSplice(relay, b), b.reason());
        assertSame(b, detector.readyToSplice(up, a), a.reason());
    }

    @Test
    void anotherWriterAfterRelayingStartedIsStillNotDedicated() {
        byte[] buf = new byte[8192];
        ThreadTrack other = new ThreadTrack();
        detector.onWrite(other, b, new byte[] {1}, 0, 1); // before: forgotten
        relayOnce(buf, 0, 8192);
        detector.onWrite(other, b, new byte[] {2}, 0, 1); // after: counts
        for (int i = 0; i < MIN / 8192; i++) relayOnce(buf, 0, 8192);
        assertNull(detector.readyToSplice(relay, a));
        assertEquals(SourceState.NOT_DEDICATED, a.state());
    }
}
