package io.sockmap.engine;

/**
 * Engine limits.
 *
 * @param maxPairs           pairs the maps hold (each pair uses two sockets)
 * @param maxInflightBytes   per direction: bytes the kernel may hold redirected but not yet in the
 *                           target's send queue; above it the direction passes bytes to the source's
 *                           own queue (charged to it, so TCP flow control throttles the sender)
 * @param drainTimeoutMillis how long EOF or close waits for a direction's backlog to drain before
 *                           aborting the pair
 */
public record EngineConfig(int maxPairs, long maxInflightBytes, long drainTimeoutMillis) {
    public static final int DEFAULT_MAX_PAIRS = 16384;
    public static final long DEFAULT_MAX_INFLIGHT_BYTES = 16L << 20;
    public static final long DEFAULT_DRAIN_TIMEOUT_MILLIS = 30_000;

    public EngineConfig {
        if (maxPairs < 1) throw new IllegalArgumentException("maxPairs must be >= 1: " + maxPairs);
        if (maxInflightBytes < 65536) throw new IllegalArgumentException("maxInflightBytes must be >= 65536: " + maxInflightBytes);
        if (drainTimeoutMillis < 1) throw new IllegalArgumentException("drainTimeoutMillis must be >= 1: " + drainTimeoutMillis);
    }

    public static EngineConfig defaults() {
        return new EngineConfig(DEFAULT_MAX_PAIRS, DEFAULT_MAX_INFLIGHT_BYTES, DEFAULT_DRAIN_TIMEOUT_MILLIS);
    }
}
