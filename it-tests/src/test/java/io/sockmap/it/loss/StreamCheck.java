package io.sockmap.it.loss;

import io.sockmap.it.PatternStreams;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/**
 * Checks one received direction against the {@link PatternStreams} stream it must carry, and
 * describes the damage: every place where the received bytes stop following the stream, and where
 * in the stream the bytes found there come from. A block delivered twice shows as an event whose
 * source lies before the expected position ({@code duplicatedBytes} grows by the distance); a gap
 * as one whose source lies after it. After an event the check follows the stream from the source,
 * so a duplicated block followed by the intact rest is one event. Also keeps the SHA-256 of what
 * arrived, compared with the sender's, as the verdict of record.
 */
final class StreamCheck {
    /** Bytes compared to locate where received bytes come from (unique in a 256 MiB stream with near certainty). */
    private static final int KEY = 32;
    /** How far before and after the expected position the source of unexpected bytes is searched. */
    private static final long WINDOW = 32L << 20;
    private static final int MAX_EVENTS = 10;

    private final long seed;
    private final MessageDigest sha = PatternStreams.sha();
    private byte[] pending = new byte[256 * 1024];
    private int pendingLength;
    private long received;
    private long checked;       // received bytes consumed from pending
    private long streamPosition; // stream position the next pending byte should have
    private boolean lostTrack;
    private long duplicatedBytes;
    private long skippedBytes;
    private final List<String> events = new ArrayList<>();
    private int eventCount;
    private final byte[] expected = new byte[64 * 1024];

    StreamCheck(long seed) {
        this.seed = seed;
    }

    void feed(byte[] b, int off, int len) {
        sha.update(b, off, len);
        received += len;
        if (lostTrack) {
            return;
        }
        if (pendingLength + len > pending.length) {
            pending = Arrays.copyOf(pending, Math.max(pending.length * 2, pendingLength + len));
        }
        System.arraycopy(b, off, pending, pendingLength, len);
        pendingLength += len;
        process(false);
    }

    /** Checks the tail; afterwards the result methods are valid. */
    String finish() {
        if (!lostTrack) {
            process(true);
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    long received() { return received; }

    long duplicatedBytes() { return duplicatedBytes; }

    long skippedBytes() { return skippedBytes; }

    /** Stream bytes accounted for at the end (equals the bytes sent when nothing is missing). */
    long streamEnd() { return streamPosition; }

    boolean lostTrack() { return lostTrack; }

    boolean damaged() { return eventCount > 0 || lostTrack; }

    /** One line per place the bytes stop following the stream (at most {@value #MAX_EVENTS}). */
    List<String> events() { return events; }

    private void process(boolean last) {
        int off = 0;
        while (!lostTrack) {
            int checkable = last ? pendingLength - off : pendingLength - off - KEY;
            if (checkable <= 0) {
                break;
            }
            int n = Math.min(checkable, expected.length);
            PatternStreams.fill(seed, streamPosition, expected, 0, n);
            int m = Arrays.mismatch(pending, off, off + n, expected, 0, n);
            if (m < 0) {
                off += n;
                checked += n;
                streamPosition += n;
                continue;
            }
            off += m;
            checked += m;
            streamPosition += m;
            relocate(off, Math.min(KEY, pendingLength - off));
        }
        if (lostTrack) {
            pendingLength = 0;
            return;
        }
        System.arraycopy(pending, off, pending, 0, pendingLength - off);
        pendingLength -= off;
    }

    /** The bytes at {@code pending[off]} are not stream byte {@code streamPosition}: find where they come from. */
    private void relocate(int off, int keyLength) {
        long at = checked;
        long source = keyLength >= 8 ? find(pending, off, keyLength) : -1;
        eventCount++;
        if (source < 0) {
            lostTrack = true;
            record("at received offset " + at + " (stream offset " + streamPosition + "): " + keyLength
                    + " bytes not found within " + (WINDOW >> 20) + " MiB of the stream; not checked further");
            return;
        }
        if (source < streamPosition) {
            long length = streamPosition - source;
            duplicatedBytes += length;
            record("at received offset " + at + ": the stream's bytes [" + source + ", " + streamPosition + ") again: a repeated block of "
                    + length + " bytes");
        } else {
            long length = source - streamPosition;
            skippedBytes += length;
            record("at received offset " + at + ": stream bytes [" + streamPosition + ", " + source + ") missing (" + length + " bytes)");
        }
        streamPosition = source;
    }

    private void record(String event) {
        if (events.size() < MAX_EVENTS) {
            events.add(event);
        }
    }

    /** Nearest stream position other than {@code streamPosition} whose bytes equal the key, or -1. */
    private long find(byte[] key, int keyOff, int keyLength) {
        int slab = 1 << 20;
        byte[] window = new byte[slab + keyLength];
        // backwards first: a repeat is what the kernel bug produces
        for (long end = streamPosition; end > Math.max(0, streamPosition - WINDOW); end -= slab) {
            long start = Math.max(0, end - slab);
            int span = (int) (end - start);
            PatternStreams.fill(seed, start, window, 0, span + keyLength);
            for (int i = span - 1; i >= 0; i--) {
                if (window[i] == key[keyOff] && Arrays.equals(window, i, i + keyLength, key, keyOff, keyOff + keyLength)) {
                    return start + i;
                }
            }
        }
        for (long start = streamPosition + 1; start < streamPosition + WINDOW; start += slab) {
            PatternStreams.fill(seed, start, window, 0, slab + keyLength);
            for (int i = 0; i < slab; i++) {
                if (window[i] == key[keyOff] && Arrays.equals(window, i, i + keyLength, key, keyOff, keyOff + keyLength)) {
                    return start + i;
                }
            }
        }
        return -1;
    }
}
