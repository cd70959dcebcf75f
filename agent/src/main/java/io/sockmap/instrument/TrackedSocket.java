package io.sockmap.instrument;

import io.sockmap.detect.SocketTrack;

import java.lang.ref.WeakReference;
import java.net.Socket;

/**
 * A socket as the instrumentation sees it: the detector's state plus the spliced direction it
 * is the source or the target of. Refers to its socket weakly (it is the value of a weak map
 * keyed by that socket); a live {@link SpliceLink} holds the strong references.
 */
final class TrackedSocket extends SocketTrack {
    private final WeakReference<Socket> socket;
    /** The direction this socket feeds, once spliced (kept after it ends: reads see its outcome). */
    volatile SpliceLink asSource;
    /** The live direction writing into this socket, or {@code null}. */
    volatile SpliceLink asTarget;

    TrackedSocket(Socket socket) {
        this.socket = new WeakReference<>(socket);
    }

    /** The socket, or {@code null} if it was collected. */
    Socket socket() { return socket.get(); }
}
