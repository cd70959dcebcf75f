package io.sockmap.detect;

import java.util.zip.CRC32C;

/**
 * One thread's view: the socket it last read from and the bytes of that read it has not written
 * yet. Owned by its thread (no locking); the detector only touches it from that thread.
 */
public final class ThreadTrack {
    SocketTrack source;

    private byte[] buf;
    private int off;
    private int len;
    private int written;
    private int crc;
    private final CRC32C checksum = new CRC32C();

    /** The socket this thread last read from, or {@code null}. */
    public SocketTrack source() { return source; }

    boolean hasUnwrittenBytes() { return buf != null; }

    void recordRead(byte[] b, int off, int n) {
        checksum.reset();
        checksum.update(b, off, n);
        crc = (int) checksum.getValue();
        checksum.reset();
        this.buf = b;
        this.off = off;
        this.len = n;
        this.written = 0;
    }

    /** True if writing {@code b[off..off+n)} continues the pending read exactly, in order. */
    boolean continues(byte[] b, int off, int n) {
        return b == buf && off == this.off + written && n <= len - written;
    }

    /** Adds a continuing chunk; returns true once the whole read was written. */
    boolean addWritten(byte[] b, int off, int n) {
        checksum.update(b, off, n);
        written += n;
        return written == len;
    }

    /** The bytes written equal (by CRC32C) the bytes read; valid once {@link #addWritten} returned true. */
    boolean writtenMatchesRead() {
        return (int) checksum.getValue() == crc;
    }

    int pendingLength() { return len; }

    void clearPending() {
        buf = null;
        len = 0;
        written = 0;
    }
}
