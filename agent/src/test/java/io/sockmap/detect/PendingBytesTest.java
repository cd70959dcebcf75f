package io.sockmap.detect;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PendingBytesTest {
    private static ByteBuffer bytes(int from, int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) (from + i);
        return ByteBuffer.wrap(b);
    }

    @Test
    void matchesAcrossTheRingsWrapAndAfterGrowing() {
        PendingBytes p = new PendingBytes();
        p.append(bytes(0, 100));
        p.consume(60);                       // head moves into the array
        p.append(bytes(100, 50));            // grows: the pending 40 + 50 are copied in order
        p.consume(30);
        p.append(bytes(150, 40));            // wraps around the end of the ring
        assertEquals(100, p.size());
        assertTrue(p.matches(bytes(90, 100), 0));
        assertTrue(p.matches(bytes(120, 70), 30));
        assertFalse(p.matches(bytes(91, 100), 0));
        assertFalse(p.matches(bytes(90, 101), 0), "more than is pending");
        assertEquals(60, p.lastReadStart());
        ByteBuffer offset = bytes(80, 40);
        offset.position(10);                 // the buffer's position is where the bytes start
        assertTrue(p.matches(offset, 0));
        assertEquals(10, offset.position(), "the buffer is not changed");
    }

    @Test
    void holdsNoMemoryOnceEverythingIsConsumed() {
        PendingBytes p = new PendingBytes();
        p.append(bytes(0, 1024));
        p.consume(1024);
        assertEquals(0, p.size());
        assertTrue(p.matches(bytes(0, 0), 0));
        assertFalse(p.matches(bytes(0, 1), 0));
        p.append(bytes(7, 3));
        assertTrue(p.matches(bytes(7, 3), 0));
    }
}
