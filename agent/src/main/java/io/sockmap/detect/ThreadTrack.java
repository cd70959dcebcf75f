package io.sockmap.detect;

import java.util.Arrays;

/**
 * One thread's view: the socket it last read from and a copy of the bytes it read from that
 * socket and has not written yet, in order. Owned by its thread (no locking); the detector only
 * touches it from that thread.
 *
 * <p>The bytes are copied, not referenced, because a relay's writes need not come from the array
 * its reads went into: {@code BufferedInputStream} reads into its own buffer and the application
 * copies from there, {@code BufferedOutputStream} copies into its buffer before writing, {@code
 * read()}/{@code write(int)} use a fresh one-byte array per call, and {@code readFully} fills one
 * array with several reads before one write. Comparing copies also catches a relay that changes the
 * bytes in place between the read and the write. Copying happens only while a source is undecided
 * (about {@code minBytes} per direction), and the copy is bounded by {@link #MAX_PENDING}. The copy
 * buffer is freed once the thread's source is decided, so a thread holds one only while it relays
 * an undecided source, about the size of the application's own read buffer.
 *
 * <p>Before a relay's first byte, the start offset of each read is kept as well: the first
 * relayed write may begin at any read (the reads before it were a parsed preamble).
 */
public final class ThreadTrack {
    /** Most read-but-unwritten bytes a relay may hold; more is not a relay the agent can hand over. */
    static final int MAX_PENDING = 4 << 20;
    /** A buffer larger than this is dropped when it empties, so idle threads keep little. */
    private static final int KEEP_CAPACITY = 256 << 10;
    private static final int MAX_STARTS = 64;
    private static final byte[] EMPTY = new byte[0];

    SocketTrack source;

    private byte[] data = EMPTY;
    private int head;
    private int tail;
    /** Offsets in {@link #data} where a read began, ascending, while reads are recorded with starts. */
    private final int[] starts = new int[MAX_STARTS];
    private int startCount;

    /** The socket this thread last read from, or {@code null}. */
    public SocketTrack source() { return source; }

    boolean hasUnwrittenBytes() { return tail > head; }

    int pendingLength() { return tail - head; }

    /**
     * Appends a read's bytes; {@code markStart} records where it begins (before relaying).
     *
     * @return false, changing nothing, if the pending bytes would exceed {@link #MAX_PENDING}
     */
    boolean append(byte[] b, int off, int n, boolean markStart) {
        int pending = tail - head;
        if (n > MAX_PENDING - pending) return false;
        if (tail + n > data.length) {
            if (pending + n <= data.length) {
                System.arraycopy(data, head, data, 0, pending);
                shiftStarts(head);
            } else {
                byte[] bigger = new byte[Math.max(pending + n, Math.min(MAX_PENDING, Math.max(8192, data.length * 2)))];
                System.arraycopy(data, head, bigger, 0, pending);
                shiftStarts(head);
                data = bigger;
            }
            head = 0;
            tail = pending;
        }
        if (markStart) {
            if (startCount == MAX_STARTS) {
                System.arraycopy(starts, 1, starts, 0, MAX_STARTS - 1);
                startCount--;
            }
            starts[startCount++] = tail;
        }
        System.arraycopy(b, off, data, tail, n);
        tail += n;
        return true;
    }

    /** True if {@code b[off..off+len)} equals the oldest {@code len} pending bytes. */
    boolean headEquals(byte[] b, int off, int len) {
        return len <= tail - head && Arrays.equals(data, head, head + len, b, off, off + len);
    }

    /**
     * Before relaying: finds the oldest read start from which the pending bytes begin with
     * {@code b[off..off+len)}, and forgets the pending bytes before it (a parsed preamble).
     *
     * @return false if no read start matches
     */
    boolean alignTo(byte[] b, int off, int len) {
        for (int i = 0; i < startCount; i++) {
            int s = starts[i];
            if (s < head) continue;
            if (len <= tail - s && Arrays.equals(data, s, s + len, b, off, off + len)) {
                head = s;
                return true;
            }
        }
        return false;
    }

    /** The oldest {@code len} pending bytes were written (checked with {@link #headEquals}). */
    void consume(int len) {
        head += len;
        startCount = 0; // relaying started: only the order matters from now on
        if (head == tail) {
            head = 0;
            tail = 0;
            if (data.length > KEEP_CAPACITY) data = EMPTY; // a rare large read: do not keep its buffer
        }
    }

    /** Forgets the pending bytes and frees the copy buffer (the source was decided or left). */
    void clearPending() {
        head = 0;
        tail = 0;
        startCount = 0;
        data = EMPTY;
    }

    private void shiftStarts(int by) {
        int kept = 0;
        for (int i = 0; i < startCount; i++) {
            int s = starts[i] - by;
            if (s >= 0) starts[kept++] = s;
        }
        startCount = kept;
    }
}
