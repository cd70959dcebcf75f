package io.sockmap.engine;

/** One spliced direction (source -> target). */
public interface SplicedDirection {
    /** Bytes the kernel redirected from source to target. */
    long kernelBytes();

    /** Bytes the engine forwarded in userspace (passed by the program while paused or capped). */
    long userspaceBytes();

    /**
     * Bytes the kernel took from the source that were not yet in the target's send queue at the
     * watcher's last look (the memory the in-flight cap bounds).
     */
    long inflightBytes();

    /** True once the direction ended (EOF delivered or aborted). */
    boolean isDone();

    /**
     * Stops redirecting (what arrives from now on stays in the source's own queue, in order
     * behind everything redirected, for a userspace read), then waits until every byte the kernel
     * took from the source is in the target's send queue. Used before the application closes a
     * socket of a live pair; {@link #detach} follows.
     *
     * @return true if drained, false on timeout
     */
    boolean awaitDrained(long timeoutMillis) throws InterruptedException;

    /** Aborts the direction: the listener gets {@code onAbort}. */
    void abort(String reason);

    /**
     * The application is about to close the source or the target: the engine stops using both
     * fds (so a reused fd number is never touched) and frees the direction's slot. No listener
     * call follows. Call {@link #awaitDrained} first if the bytes in flight matter.
     */
    void detach();
}
