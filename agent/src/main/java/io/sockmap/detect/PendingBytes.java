package io.sockmap.detect;

import java.nio.ByteBuffer;

/**
 * Bytes read from a source and not yet seen written to its target, in order: a growable ring.
 * Used only while a source is undecided (its first {@code minBytes} or so), so the copies cost
 * little; the owner bounds its size. Not thread-safe: guarded by the owning {@link ChannelTrack}.
 */
final class PendingBytes {
    private byte[] ring = new byte[0];
    private int head;
    private int size;
    /** Offset (from the head) where the most recent read starts. */
    private int lastReadStart;

    int size() { return size; }

    int lastReadStart() { return lastReadStart; }

    /** Appends {@code src[position..limit)} (the buffer's position is not changed). */
    void append(ByteBuffer src) {
        int n = src.remaining();
        ensure(size + n);
        lastReadStart = size;
        int tail = (head + size) % ring.length;
        int first = Math.min(n, ring.length - tail);
        ByteBuffer s = src.duplicate();
        s.get(ring, tail, first);
        if (first < n) s.get(ring, 0, n - first);
        size += n;
    }

    /** True if {@code bytes[position..limit)} equal the pending bytes starting {@code at} bytes after the head. */
    boolean matches(ByteBuffer bytes, int at) {
        int n = bytes.remaining();
        if (at < 0 || at + n > size) return false;
        int p = bytes.position();
        for (int i = 0; i < n; i++) {
            if (bytes.get(p + i) != ring[(head + at + i) % ring.length]) return false;
        }
        return true;
    }

    /** Drops {@code n} bytes from the head. */
    void consume(int n) {
        if (n > size) throw new IllegalArgumentException(n + " > " + size);
        head = size == n ? 0 : (head + n) % ring.length;
        size -= n;
        lastReadStart = Math.max(0, lastReadStart - n);
    }

    /** Frees the memory. */
    void clear() {
        ring = new byte[0];
        head = 0;
        size = 0;
        lastReadStart = 0;
    }

    private void ensure(int capacity) {
        if (capacity <= ring.length) return;
        byte[] bigger = new byte[Math.max(capacity, Math.max(4096, ring.length * 2))];
        for (int i = 0; i < size; i++) bigger[i] = ring[(head + i) % ring.length];
        ring = bigger;
        head = 0;
    }
}
