package io.sockmap.detect;

import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Arrays that {@link PendingBytes} let go of, kept for the next read that needs one. A relay
 * copies each read for the detector and frees the copy at the matching write, usually microseconds
 * later on the same thread: with a few arrays kept here, reading an undecided connection allocates
 * nothing. Bounded: {@value #SLOTS} arrays of at most {@value #MAX_KEPT} bytes (4 MiB); anything
 * else is left to the GC. Lock-free; shared by all channels of the JVM.
 */
final class RecycledArrays {
    /** The smallest array handed out, so that arrays of different read sizes can be reused. */
    static final int MIN_LENGTH = 4096;
    static final int MAX_KEPT = 64 * 1024;
    private static final int SLOTS = 64;
    private static final AtomicReferenceArray<byte[]> SLOT = new AtomicReferenceArray<>(SLOTS);

    private RecycledArrays() {}

    /** An array of at least {@code min} bytes: a kept one, or a new one rounded up to a power of two. */
    static byte[] take(int min) {
        if (min <= MAX_KEPT) {
            int start = start();
            for (int i = 0; i < SLOTS; i++) {
                int s = (start + i) & (SLOTS - 1);
                byte[] a = SLOT.get(s);
                if (a != null && a.length >= min && SLOT.compareAndSet(s, a, null)) return a;
            }
            return new byte[Math.max(MIN_LENGTH, Integer.highestOneBit(min - 1) << 1)];
        }
        return new byte[min];
    }

    /** Keeps {@code a} for a later {@link #take} if there is room; its contents are not cleared. */
    static void give(byte[] a) {
        if (a.length > MAX_KEPT || a.length < MIN_LENGTH) return;
        int start = start();
        for (int i = 0; i < SLOTS; i++) {
            int s = (start + i) & (SLOTS - 1);
            if (SLOT.get(s) == null && SLOT.compareAndSet(s, null, a)) return;
        }
    }

    /** Threads start their scan at different slots, so that two relay threads rarely meet. */
    private static int start() {
        return (int) Thread.currentThread().getId() * 7;
    }
}
