package io.sockmap.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.security.MessageDigest;
import java.util.Arrays;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

class DeterministicBytesTest {

    @Test
    void anySliceMatchesTheWholeStream() {
        DeterministicBytes d = new DeterministicBytes(5);
        byte[] whole = new byte[10_000];
        d.fill(whole, 0, whole.length, 0);
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < 2000; i++) {
            int pos = r.nextInt(whole.length);
            int len = r.nextInt(whole.length - pos + 1);
            int off = r.nextInt(17);
            byte[] slice = new byte[off + len];
            d.fill(slice, off, len, pos);
            assertArrayEquals(Arrays.copyOfRange(whole, pos, pos + len), Arrays.copyOfRange(slice, off, off + len));
        }
    }

    @Test
    void seedsDifferAndHashMatchesFill() throws Exception {
        byte[] a = new byte[4096];
        byte[] b = new byte[4096];
        new DeterministicBytes(1).fill(a, 0, a.length, 0);
        new DeterministicBytes(2).fill(b, 0, b.length, 0);
        assertFalse(Arrays.equals(a, b));
        byte[] big = new byte[200_001];
        new DeterministicBytes(9).fill(big, 0, big.length, 0);
        assertArrayEquals(MessageDigest.getInstance("SHA-256").digest(big), new DeterministicBytes(9).sha256(big.length));
    }
}
