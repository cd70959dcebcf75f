package io.sockmap.engine;

import io.sockmap.kernel.KernelException;
import io.sockmap.kernel.LibC;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Both directions of a pair handed over through {@link SpliceEngine#splice}: propagates each EOF
 * as {@code shutdown(SHUT_WR)} on the other socket once that direction drained, closes both
 * sockets when both directions ended, and turns an abort of either direction into a reset of both.
 */
final class Pair implements SplicedPair {
    private final SpliceEngine engine;
    private final SpliceEngine.Closer closeA;
    private final SpliceEngine.Closer closeB;
    private final CompletableFuture<Void> completion = new CompletableFuture<>();
    private final AtomicBoolean finished = new AtomicBoolean();
    private volatile Direction ab;
    private volatile Direction ba;
    private volatile IOException early;
    private volatile boolean eofAB;
    private volatile boolean eofBA;

    Pair(SpliceEngine engine, SpliceEngine.Closer closeA, SpliceEngine.Closer closeB) {
        this.engine = engine;
        this.closeA = closeA;
        this.closeB = closeB;
    }

    void start(Direction ab, Direction ba) {
        this.ab = ab;
        this.ba = ba;
        // an event that arrived before both directions existed is replayed here
        if (early != null) abort(early.getMessage());
        else {
            if (eofAB) eof(true);
            if (eofBA) eof(false);
        }
    }

    DirectionListener listener(boolean aToB) {
        return new DirectionListener() {
            @Override
            public void onEof() {
                if (aToB) eofAB = true;
                else eofBA = true;
                if (ab != null && ba != null) eof(aToB);
            }

            @Override
            public void onAbort(IOException cause) {
                if (ab == null || ba == null) early = cause;
                else fail(cause);
            }
        };
    }

    private void eof(boolean aToB) {
        Direction d = aToB ? ab : ba;
        try {
            LibC.shutdownSocket(d.target, LibC.SHUT_WR);
        } catch (KernelException e) {
            fail(e);
            return;
        }
        if (eofAB && eofBA) finish(null);
    }

    private void fail(IOException cause) {
        if (finished.get()) return;
        for (Direction d : new Direction[] {ab, ba}) {
            try {
                LibC.setLinger(d.source, true, 0);
            } catch (KernelException ignored) {
                // already closed
            }
        }
        finish(cause);
    }

    private void finish(IOException cause) {
        if (!finished.compareAndSet(false, true)) return;
        ab.detach();
        ba.detach();
        engine.forgetTargets(ab.targetCookie, ba.targetCookie);
        engine.pairs.remove(this);
        IOException closeError = null;
        try {
            closeA.close();
        } catch (IOException e) {
            closeError = e;
        }
        try {
            closeB.close();
        } catch (IOException e) {
            if (closeError == null) closeError = e;
        }
        if (cause != null) completion.completeExceptionally(cause);
        else if (closeError != null) completion.completeExceptionally(closeError);
        else completion.complete(null);
    }

    @Override
    public SplicedDirection aToB() {
        return ab;
    }

    @Override
    public SplicedDirection bToA() {
        return ba;
    }

    @Override
    public CompletableFuture<Void> completion() {
        return completion;
    }

    @Override
    public void abort(String reason) {
        IOException cause = new IOException(reason);
        if (ab.live()) engine.abort(ab, cause);
        if (ba.live()) engine.abort(ba, cause);
        fail(cause);
    }
}
