package io.sockmap.it.soak;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * A keyed pseudo-random byte stream with random access: word {@code i} (bytes {@code 8i..8i+7},
 * little-endian) is a SplitMix64 finalizer of {@code key + (i + 1) * golden}. Senders write it,
 * and a verifier can hash any prefix of it again without having kept the bytes.
 */
final class StreamBytes {
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final long GOLDEN = 0x9E3779B97F4A7C15L;

    private StreamBytes() {}

    private static long word(long key, long i) {
        long z = key + (i + 1) * GOLDEN;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Stream bytes {@code [position, position + len)} into {@code dst[0, len)}. */
    static void fill(long key, byte[] dst, int len, long position) {
        int i = 0;
        while (i < len && ((position + i) & 7) != 0) {
            long p = position + i;
            dst[i++] = (byte) (word(key, p >>> 3) >>> ((p & 7) << 3));
        }
        long w = (position + i) >>> 3;
        while (len - i >= 8) {
            LONGS.set(dst, i, word(key, w++));
            i += 8;
        }
        while (i < len) {
            long p = position + i;
            dst[i++] = (byte) (word(key, p >>> 3) >>> ((p & 7) << 3));
        }
    }

    /** SHA-256 of the stream's first {@code length} bytes. */
    static byte[] sha256(long key, long length) {
        MessageDigest md = sha256();
        byte[] buf = new byte[64 * 1024];
        long pos = 0;
        while (pos < length) {
            int n = (int) Math.min(buf.length, length - pos);
            fill(key, buf, n, pos);
            md.update(buf, 0, n);
            pos += n;
        }
        return md.digest();
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }
}
