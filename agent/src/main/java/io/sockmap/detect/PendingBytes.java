package io.sockmap.detect;

import java.nio.ByteBuffer;

/**
 * Bytes read from a source and not yet seen written to its target, in order: a growable ring.
 * Used only while a source is undecided (its first {@code minBytes} or so); the owner bounds its
 * size. Holds memory only while bytes are pending: a proxy serving thousands of idle or
 * request/response connections writes each read before the next one, so its channels hold
 * nothing between reads (a ring kept per channel made the heap of such a proxy grow by
 * thousands of mostly empty arrays). An emptied ring goes back to {@link RecycledArrays}, so a
 * relay that writes each read before the next allocates nothing per read (a fresh array per read
 * churned through eden, and on a fresh JVM every new eden page is a page fault). Not thread-safe:
 * guarded by the owning {@link ChannelTrack}.
 */
final class PendingBytes {
    private static final byte[] NONE = new byte[0];

    private byte[] ring = NONE;
    private int head;
    private int size;
    /** Offset (from the head) where the most recent read starts. */
    private int lastReadStart;

    int size() { return size; }

    int lastReadStart() { return lastReadStart; }

    /** Appends {@code src[off..off+n)} (absolute: the buffer's position is not changed). */
    void append(ByteBuffer src, int off, int n) {
        ensure(size + n);
        lastReadStart = size;
        int tail = (head + size) % ring.length;
        int first = Math.min(n, ring.length - tail);
        src.get(off, ring, tail, first);
        if (first < n) src.get(off + first, ring, 0, n - first);
        size += n;
    }

    /** True if {@code bytes[off..off+n)} equal the pending bytes starting {@code at} bytes after the head. */
    boolean matches(ByteBuffer bytes, int off, int n, int at) {
        if (at < 0 || at + n > size) return false;
        if (n == 0) return true;
        int start = (head + at) % ring.length;
        int first = Math.min(n, ring.length - start);
        if (!bytes.slice(off, first).equals(ByteBuffer.wrap(ring, start, first))) return false;
        return first == n || bytes.slice(off + first, n - first).equals(ByteBuffer.wrap(ring, 0, n - first));
    }

    /** Drops {@code n} bytes from the head. */
    void consume(int n) {
        if (n > size) throw new IllegalArgumentException(n + " > " + size);
        if (n == size) {
            clear();
            return;
        }
        head = (head + n) % ring.length;
        size -= n;
        lastReadStart = Math.max(0, lastReadStart - n);
    }

    /** Frees the memory (the array goes back to {@link RecycledArrays}). */
    void clear() {
        if (ring != NONE) RecycledArrays.give(ring);
        ring = NONE;
        head = 0;
        size = 0;
        lastReadStart = 0;
    }

    private void ensure(int capacity) {
        if (capacity <= ring.length) return;
        byte[] bigger = RecycledArrays.take(size == 0 ? capacity : Math.max(capacity, ring.length * 2));
        int first = Math.min(size, ring.length - head);
        System.arraycopy(ring, head, bigger, 0, first);
        System.arraycopy(ring, 0, bigger, first, size - first);
        if (ring != NONE) RecycledArrays.give(ring);
        ring = bigger;
        head = 0;
    }
}
