package io.sockmap.engine;

import java.io.IOException;
import java.net.Socket;
import java.nio.channels.SocketChannel;

/** STUB: being written by the lead. Public API is fixed. */
public final class SpliceEngine implements AutoCloseable {
    private SpliceEngine() {}

    /** Loads the program and starts the watcher; throws with a one-line reason when BPF is unavailable. */
    public static SpliceEngine open(EngineConfig config) throws EngineUnavailableException {
        throw new EngineUnavailableException("not implemented yet", null);
    }

    /** Splices both directions; the engine owns both sockets from now on (closes them when done). */
    public SplicedPair splice(Socket a, Socket b) throws SpliceRefusedException {
        throw new UnsupportedOperationException();
    }

    public SplicedPair splice(SocketChannel a, SocketChannel b) throws SpliceRefusedException {
        throw new UnsupportedOperationException();
    }

    /**
     * Splices one direction, source -> target, for an application that keeps its sockets. The
     * caller guarantees that no thread of the application reads the source or writes the target
     * from now on, and that every byte the application read from the source was written to the
     * target. Drains the source to EAGAIN first (forwarding to the target), then hands over.
     *
     * @param aToB which way this direction counts in the stats
     */
    public SplicedDirection spliceDirection(int sourceFd, int targetFd, boolean aToB, DirectionListener listener)
            throws SpliceRefusedException {
        throw new UnsupportedOperationException();
    }

    /** Counts a fallback the caller decided on (e.g. not a pure relay), for the stats. */
    public void recordFallback(FallbackReason reason) {}

    public EngineStats stats() {
        throw new UnsupportedOperationException();
    }

    /** Aborts live pairs that do not drain within the drain timeout, closes every kernel object. */
    @Override
    public void close() {}

    /** Thrown by {@link #open} with a one-line reason, e.g. "no CAP_BPF/CAP_NET_ADMIN (EPERM)". */
    public static final class EngineUnavailableException extends IOException {
        private static final long serialVersionUID = 1L;

        public EngineUnavailableException(String reason, Throwable cause) {
            super(reason, cause);
        }
    }
}
