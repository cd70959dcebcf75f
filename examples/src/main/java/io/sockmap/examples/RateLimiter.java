package io.sockmap.examples;

import java.io.InterruptedIOException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A per-connection token bucket in bytes: the backend asks it how much it may read before each
 * {@code read}, which turns the backend into a slow reader (the socket's receive queue fills,
 * then the sender's send queue). Not thread-safe; one per connection.
 */
final class RateLimiter {

    private final double bytesPerNano;
    private final double capacity;
    private double tokens;
    private long last;

    /**
     * @param bytesPerSecond sustained rate
     * @param maxChunk largest single grant (the read buffer size); the bucket holds at most
     *                 {@code min(maxChunk, bytesPerSecond / 10)} bytes, i.e. a 100 ms burst
     */
    RateLimiter(long bytesPerSecond, int maxChunk) {
        if (bytesPerSecond <= 0) {
            throw new IllegalArgumentException("rate must be positive");
        }
        this.bytesPerNano = bytesPerSecond / 1e9;
        this.capacity = Math.max(1, Math.min(maxChunk, bytesPerSecond / 10));
        this.tokens = 0;
        this.last = System.nanoTime();
    }

    /**
     * Blocks until at least {@code min(want, burst)} bytes may be read and takes up to
     * {@code want} of them. Return the unused part with {@link #refund}.
     */
    int acquire(int want) throws InterruptedIOException {
        double need = Math.min(want, capacity);
        for (;;) {
            long now = System.nanoTime();
            tokens = Math.min(capacity, tokens + (now - last) * bytesPerNano);
            last = now;
            if (tokens >= need) {
                int granted = (int) Math.min(want, tokens);
                tokens -= granted;
                return granted;
            }
            long waitNanos = (long) Math.ceil((need - tokens) / bytesPerNano);
            LockSupport.parkNanos(Math.max(waitNanos, TimeUnit.MICROSECONDS.toNanos(50)));
            if (Thread.interrupted()) {
                throw new InterruptedIOException("interrupted while rate limited");
            }
        }
    }

    /** Gives back tokens that a short read did not use. */
    void refund(int unused) {
        if (unused > 0) {
            tokens = Math.min(capacity, tokens + unused);
        }
    }
}
