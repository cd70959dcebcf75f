package io.sockmap.examples;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * An endless, seeded stream of pseudo-random bytes with random access: byte {@code p} of the
 * stream is byte {@code p % 8} (little-endian) of the SplitMix64 finalizer applied to
 * {@code key + (p / 8 + 1) * golden}. The sender and the verifier can therefore produce any
 * slice independently, whatever chunk sizes the network cuts the stream into.
 */
final class DeterministicBytes {

    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final long GOLDEN = 0x9E3779B97F4A7C15L;

    private final long key;

    DeterministicBytes(long seed) {
        this.key = mix(seed ^ 0x5DEECE66DL);
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    private long word(long index) {
        return mix(key + (index + 1) * GOLDEN);
    }

    private byte byteAt(long position) {
        return (byte) (word(position >>> 3) >>> ((position & 7) << 3));
    }

    /** Writes stream bytes {@code [position, position + len)} into {@code dst[off, off + len)}. */
    void fill(byte[] dst, int off, int len, long position) {
        int i = 0;
        while (i < len && ((position + i) & 7) != 0) {
            dst[off + i] = byteAt(position + i);
            i++;
        }
        long w = (position + i) >>> 3;
        while (len - i >= 8) {
            LONGS.set(dst, off + i, word(w++));
            i += 8;
        }
        while (i < len) {
            dst[off + i] = byteAt(position + i);
            i++;
        }
    }

    /** SHA-256 of the first {@code length} bytes of the stream. */
    byte[] sha256(long length) {
        MessageDigest md = sha256();
        byte[] buf = new byte[64 * 1024];
        for (long pos = 0; pos < length; ) {
            int n = (int) Math.min(buf.length, length - pos);
            fill(buf, 0, n, pos);
            md.update(buf, 0, n);
            pos += n;
        }
        return md.digest();
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by every Java platform", e);
        }
    }
}
