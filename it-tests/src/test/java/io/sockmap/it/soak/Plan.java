package io.sockmap.it.soak;

import java.util.SplittableRandom;

/**
 * What one soak connection does, derived from (seed, id) alone, so the client and the backend
 * (which only learns the id from an 8-byte header) agree without talking.
 *
 * @param id        connection id (phase-1 ids have {@link #PHASE1_BIT} set)
 * @param up        payload bytes client -> backend (after the 8-byte id header)
 * @param down      payload bytes backend -> client
 * @param rst       {@link #RST_NONE}, {@link #RST_CLIENT} or {@link #RST_BACKEND}: that side resets
 *                  ({@code SO_LINGER} 0 + close) after writing {@code rstAt} payload bytes
 * @param rstAt     payload bytes the resetting side writes before the reset
 * @param order     half-close order: {@link #ORDER_TOGETHER}, {@link #ORDER_CLIENT_FIRST} (the
 *                  backend shuts down its output only after it saw the client's EOF) or
 *                  {@link #ORDER_BACKEND_FIRST}
 * @param slow      {@link #SLOW_NONE}, {@link #SLOW_CLIENT} or {@link #SLOW_BACKEND}: that side reads
 *                  at {@code slowRate} bytes per second
 * @param slowRate  bytes per second of the slow reader
 * @param pauseAfter phase 1: bytes each side writes before waiting for the "all spliced" barrier
 *                  (0: no barrier)
 */
record Plan(long id, long up, long down, int rst, long rstAt, int order, int slow, long slowRate, long pauseAfter) {
    static final long PHASE1_BIT = 1L << 62;
    static final int RST_NONE = 0;
    static final int RST_CLIENT = 1;
    static final int RST_BACKEND = 2;
    static final int ORDER_TOGETHER = 0;
    static final int ORDER_CLIENT_FIRST = 1;
    static final int ORDER_BACKEND_FIRST = 2;
    static final int SLOW_NONE = 0;
    static final int SLOW_CLIENT = 1;
    static final int SLOW_BACKEND = 2;
    static final long KIB = 1024;
    static final long MIB = 1024 * KIB;

    /** The plan for {@code id} under {@code seed}. */
    static Plan of(long seed, long id, long phase1Bytes) {
        SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + id);
        if ((id & PHASE1_BIT) != 0) {
            // 10,000 at once: enough each way to be spliced, a pause until all are, then more
            int order = r.nextInt(3);
            return new Plan(id, 2 * phase1Bytes, 2 * phase1Bytes, RST_NONE, 0, order, SLOW_NONE, 0, phase1Bytes);
        }
        long up = size(r);
        long down = size(r);
        int rst = RST_NONE;
        long rstAt = 0;
        int x = r.nextInt(100);
        if (x < 4) {
            rst = RST_CLIENT;
            rstAt = up == 0 ? 0 : r.nextLong(up + 1);
        } else if (x < 8) {
            rst = RST_BACKEND;
            rstAt = down == 0 ? 0 : r.nextLong(down + 1);
        }
        int order = r.nextInt(3);
        int slow = SLOW_NONE;
        long rate = 0;
        if (r.nextInt(100) < 2) {
            slow = r.nextBoolean() ? SLOW_CLIENT : SLOW_BACKEND;
            rate = (2 + r.nextInt(15)) * MIB;
            // a slow reader reads at most 32 MiB, so it ends within seconds
            if (slow == SLOW_CLIENT) down = Math.min(down, 32 * MIB);
            else up = Math.min(up, 32 * MIB);
        }
        return new Plan(id, up, down, rst, rstAt, order, slow, rate, 0);
    }

    /**
     * 0 B to 64 MiB, skewed to small (log-uniform within buckets): 3% empty, 12% up to 1 KiB,
     * 69.45% up to 64 KiB, 15% up to 1 MiB, 0.5% up to 16 MiB, 0.05% up to 64 MiB. Mean about
     * 100 KiB, so 100,000 connections move about 20 GiB in all.
     */
    static long size(SplittableRandom r) {
        int x = r.nextInt(10_000);
        if (x < 300) return 0;
        if (x < 1500) return 1 + r.nextLong(KIB);
        if (x < 8445) return logUniform(r, KIB, 64 * KIB);
        if (x < 9945) return logUniform(r, 64 * KIB, MIB);
        if (x < 9995) return logUniform(r, MIB, 16 * MIB);
        return logUniform(r, 16 * MIB, 64 * MIB);
    }

    private static long logUniform(SplittableRandom r, long lo, long hi) {
        double v = Math.exp(Math.log(lo) + r.nextDouble() * (Math.log(hi) - Math.log(lo)));
        return Math.max(lo, Math.min(hi, (long) v));
    }

    /** Payload bytes the client writes (all of {@code up}, or up to the reset). */
    long clientWrites() {
        return rst == RST_CLIENT ? rstAt : up;
    }

    long backendWrites() {
        return rst == RST_BACKEND ? rstAt : down;
    }

    /** The stream key for one direction of this connection. */
    long key(long seed, boolean upstream) {
        return seed ^ (id * 0xC2B2AE3D27D4EB4FL) ^ (upstream ? 0x165667B19E3779F9L : 0x27D4EB2F165667C5L);
    }
}
