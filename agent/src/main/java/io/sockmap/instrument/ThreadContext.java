package io.sockmap.instrument;

import io.sockmap.detect.ThreadTrack;

import java.net.Socket;

/**
 * Per-thread state: the detector's {@link ThreadTrack}, a re-entry flag, and a cache of the last
 * four sockets this thread touched (a relay thread touches two), so the hot path is a
 * thread-local read and an identity compare. Used by its own thread only.
 */
final class ThreadContext {
    private static final int CACHE = 4;

    final ThreadTrack track = new ThreadTrack();
    /** Set while this thread runs agent code: socket I/O it does then is not reported. */
    boolean busy;

    private final Socket[] keys = new Socket[CACHE];
    private final TrackedSocket[] values = new TrackedSocket[CACHE];
    private int next;

    TrackedSocket lookup(Socket socket, SocketRegistry registry) {
        for (int i = 0; i < CACHE; i++) {
            if (keys[i] == socket) return values[i];
        }
        TrackedSocket t = registry.getOrCreate(socket);
        keys[next] = socket;
        values[next] = t;
        next = (next + 1) & (CACHE - 1);
        return t;
    }

    /** The cached entry, or {@code null} (does not create). */
    TrackedSocket cached(Socket socket) {
        for (int i = 0; i < CACHE; i++) {
            if (keys[i] == socket) return values[i];
        }
        return null;
    }
}
