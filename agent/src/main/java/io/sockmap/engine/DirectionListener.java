package io.sockmap.engine;

import java.io.IOException;

/**
 * Told when a spliced direction ends. Called on the engine's watcher thread: return quickly.
 */
public interface DirectionListener {
    /**
     * The source reached EOF and every byte it received is in the target's send queue: the
     * application may now see EOF on the source and shut down the target's output.
     */
    void onEof();

    /** The direction was aborted (reset, error, drain timeout, engine closed): the application sees an error. */
    void onAbort(IOException cause);

    /**
     * The engine handed the direction back to userspace while it was live (the engine is
     * closing): every byte the kernel took from the source is in the target's send queue, the
     * program no longer redirects, and the application relays the source itself from now on.
     * The default does nothing.
     */
    default void onReturned() {
    }
}
