package io.sockmap.engine;

import java.util.concurrent.CompletableFuture;

/** Both directions of a pair spliced through {@link SpliceEngine#splice}; the engine owns the sockets. */
public interface SplicedPair {
    SplicedDirection aToB();

    SplicedDirection bToA();

    /**
     * Completes when both directions ended and both sockets are closed: normally when each side's
     * EOF was delivered, exceptionally (with the cause) when the pair was aborted.
     */
    CompletableFuture<Void> completion();

    /** Aborts the pair: both peers see a reset. */
    void abort(String reason);
}
