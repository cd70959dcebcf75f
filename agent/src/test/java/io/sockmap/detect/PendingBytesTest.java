package io.sockmap.detect;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PendingBytesTest {
    private static ByteBuffer bytes(int from, int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) (from + i);
        return ByteBuffer.wrap(b);
    }

    private static void append(PendingBytes p, ByteBuffer b) {
        p.append(b, b.position(), b.remaining());
    }

    private static boolean matches(PendingBytes p, ByteBuffer b, int at) {
        return p.matches(b, b.position(), b.remaining(), at);
    }

    @Test
    void matchesAcrossTheRingsWrapAndAfterGrowing() {
        // the ring's first array holds 4096 bytes (RecycledArrays.MIN_LENGTH)
        PendingBytes p = new PendingBytes();
        append(p, bytes(0, 3000));
        p.consume(2500);                     // head moves into the array
        append(p, bytes(3000, 3000));        // wraps around the end of the ring
        assertEquals(3500, p.size());
        assertTrue(matches(p, bytes(2500, 3500), 0));
        assertTrue(matches(p, bytes(2900, 2000), 400), "the part that wraps");
        assertFalse(matches(p, bytes(2501, 3500), 0));
        assertFalse(matches(p, bytes(2500, 3501), 0), "more than is pending");
        assertEquals(500, p.lastReadStart());
        append(p, bytes(6000, 5000));        // grows: the pending bytes are copied in order
        p.consume(3000);
        assertTrue(matches(p, bytes(5500, 5500), 0));
        ByteBuffer offset = bytes(5490, 40);
        offset.position(10);                 // the buffer's position is where the bytes start
        assertTrue(matches(p, offset, 0));
        assertEquals(10, offset.position(), "the buffer is not changed");
        ByteBuffer direct = ByteBuffer.allocateDirect(64);
        direct.put(bytes(5500, 64));
        assertTrue(p.matches(direct, 0, 64, 0), "absolute: the buffer's position does not matter");
    }

    @Test
    void anEmptiedRingIsKeptForTheNextRead() {
        for (int i = 0; i < 64; i++) RecycledArrays.take(1); // empty the slots
        PendingBytes p = new PendingBytes();
        append(p, bytes(0, 1024));
        p.consume(1024);                     // p's ring is kept
        byte[] ring = RecycledArrays.take(1);
        assertEquals(RecycledArrays.MIN_LENGTH, ring.length);
        assertNotSame(ring, RecycledArrays.take(1), "taken once");
        RecycledArrays.give(ring);
        assertSame(ring, RecycledArrays.take(4000));
        RecycledArrays.give(ring);
        assertNotSame(ring, RecycledArrays.take(5000), "too small for 5000 bytes");
        assertEquals(8192, RecycledArrays.take(5000).length, "rounded up to a power of two");
        RecycledArrays.give(new byte[RecycledArrays.MAX_KEPT * 2]);
        assertEquals(RecycledArrays.MAX_KEPT + 1, RecycledArrays.take(RecycledArrays.MAX_KEPT + 1).length, "large arrays are not kept");
    }

    @Test
    void holdsNoMemoryOnceEverythingIsConsumed() {
        PendingBytes p = new PendingBytes();
        append(p, bytes(0, 1024));
        p.consume(1024);
        assertEquals(0, p.size());
        assertTrue(matches(p, bytes(0, 0), 0));
        assertFalse(matches(p, bytes(0, 1), 0));
        append(p, bytes(7, 3));
        assertTrue(matches(p, bytes(7, 3), 0));
    }
}
