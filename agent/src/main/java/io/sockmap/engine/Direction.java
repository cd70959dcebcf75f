package io.sockmap.engine;

import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.TimeUnit;

/**
 * One spliced direction, source to target. Its mutable state belongs to the engine's watcher
 * thread; other threads read the volatile snapshot fields and ask the watcher for changes.
 */
final class Direction implements SplicedDirection {
    enum State { HANDOVER, ACTIVE, EOF, DONE, ABORTED, DETACHED }

    final SpliceEngine engine;
    final int source;
    final int target;
    final long sourceCookie;
    final long targetCookie;
    final boolean aToB;
    final DirectionListener listener;

    // watcher-thread state
    int slot = -1;
    long baseline;            // written(target) when the source was inserted
    long forwarded;           // bytes userspace read from the source since insertion and wrote to the target
    long userWritten;         // bytes userspace wrote to the target since the baseline
    long preInsertBytes;      // bytes drained before insertion
    byte[] pending;           // bytes read from the source, not yet accepted by the target
    int pendingOff;
    int pendingLen;
    long pendingForwarded;    // forwarded value to publish once pending is flushed
    long consumeAfterFlush;   // peeked bytes to consume from the source once published
    long lastPassedSeen = -1; // the passed count at the previous look (forwarding waits for it to be still)
    boolean armed;            // the program may redirect (set once the bytes read before insertion are written)
    boolean stopped;          // paused for good (a close or a hand-back waits for the drain): never armed again
    boolean eofSeen;
    boolean throttled;
    boolean queuedHot;
    CompletableFuture<Boolean> drainWaiter; // watcher only: completes when drained (whenDrained)
    boolean drainWaiterForwards;        // in the watcher's list of directions to look at on the next tick
    int savedWindowClamp;     // the source's TCP_WINDOW_CLAMP while spliced and not throttled (an eighth of the cap)
    boolean windowNarrowed;   // the source's window clamped while the kernel holds much for it
    boolean hitCap;           // the direction once reached its cap: its reader is slow
    int advmss;               // the largest segment the source's peer may send (64 KiB on loopback)
    boolean fastReader;       // the target's reader drains faster than a stalled sender could resume: never narrow
    long narrowedAtNanos;     // when the window was last narrowed
    long heldAtNarrow;        // the bytes the kernel held for the direction then
    long eofDeadlineNanos;
    long lastKernelSent;

    volatile State state = State.HANDOVER;
    volatile long kernelBytesSnapshot;
    volatile long userspaceBytesSnapshot;
    volatile long inflightSnapshot;
    volatile boolean drained = true;
    final CountDownLatch ended = new CountDownLatch(1);

    Direction(SpliceEngine engine, int source, int target, long sourceCookie, long targetCookie,
              boolean aToB, DirectionListener listener) {
        this.engine = engine;
        this.source = source;
        this.target = target;
        this.sourceCookie = sourceCookie;
        this.targetCookie = targetCookie;
        this.aToB = aToB;
        this.listener = listener;
    }

    boolean live() {
        State s = state;
        return s == State.ACTIVE || s == State.EOF;
    }

    @Override
    public long kernelBytes() {
        return kernelBytesSnapshot;
    }

    @Override
    public long inflightBytes() {
        return inflightSnapshot;
    }

    @Override
    public long userspaceBytes() {
        return userspaceBytesSnapshot;
    }

    @Override
    public boolean isDone() {
        State s = state;
        return s == State.DONE || s == State.ABORTED || s == State.DETACHED;
    }

    @Override
    public boolean awaitDrained(long timeoutMillis) throws InterruptedException {
        if (isDone()) return state != State.ABORTED || drained;
        try {
            return engine.whenDrained(this, false, true).get(timeoutMillis, TimeUnit.MILLISECONDS);
        } catch (ExecutionException | TimeoutException | IOException e) {
            return false;
        }
    }

    @Override
    public void abort(String reason) {
        engine.abort(this, new IOException(reason));
    }

    @Override
    public void detach() {
        engine.detach(this);
    }

    @Override
    public String toString() {
        return "direction " + source + "->" + target + " (" + state + ")";
    }
}
