package io.sockmap.detect;

/**
 * What the detector knows about one socket, as a source (bytes read from it) and as a target
 * (bytes written to it). Holds no reference to the socket itself, so a weak map keyed by the
 * socket may keep it as its value. Source-role fields are guarded by {@code this}.
 */
public class SocketTrack {
    private volatile SourceState state = SourceState.UNDECIDED;
    private volatile String reason;

    // source role, guarded by this
    ThreadTrack reader;
    SocketTrack target;
    long relayed;
    long readBeforeRelaying;

    // target role
    private volatile ThreadTrack writer;
    private volatile boolean multiWriter;

    private volatile boolean accepted;
    private volatile boolean closed;
    private volatile boolean eof;

    public final SourceState state() { return state; }

    /** Why the state is what it is (for logs); {@code null} while undecided. */
    public final String reason() { return reason; }

    public final boolean isUndecided() { return state == SourceState.UNDECIDED; }

    /** The socket this one's bytes were relayed to, or {@code null} before the first relayed byte. */
    public final synchronized SocketTrack target() { return target; }

    /** Bytes relayed purely from this socket to {@link #target()} so far (counting stops once decided). */
    public final synchronized long relayedBytes() { return relayed; }

    /** The socket came from {@code ServerSocket.accept}: the client side of a proxy. */
    public final boolean isAccepted() { return accepted; }

    public final void markAccepted() { accepted = true; }

    public final boolean isClosed() { return closed; }

    /** The application closes the socket: it can no longer become a splice source. */
    public final void markClosed() {
        closed = true;
        decide(SourceState.ENDED, "closed");
    }

    public final boolean isEof() { return eof; }

    final void markEof() { eof = true; }

    /** More than one thread wrote to this socket. */
    public final boolean hasSeveralWriters() { return multiWriter; }

    final ThreadTrack writer() { return writer; }

    final void wroteBy(ThreadTrack t) {
        ThreadTrack w = writer;
        if (w == t) return;
        synchronized (this) {
            if (writer == null) writer = t;
            else if (writer != t) multiWriter = true;
        }
    }

    /** {@code t} starts relaying into this socket: earlier writers (a preamble) are forgotten. */
    final void relayWriterIs(ThreadTrack t) {
        synchronized (this) {
            writer = t;
            multiWriter = false;
        }
    }

    /** Moves an undecided socket to a final state; false if it was decided already. */
    public final synchronized boolean decide(SourceState to, String why) {
        if (state != SourceState.UNDECIDED) return false;
        setState(to, why);
        return true;
    }

    /** SPLICING -> SPLICED once the engine took the direction. */
    public final synchronized void spliced() {
        if (state == SourceState.SPLICING) setState(SourceState.SPLICED, "spliced");
    }

    /** SPLICING -> REFUSED when the engine said no: never tried again. */
    public final synchronized void refused(String why) {
        if (state == SourceState.SPLICING) setState(SourceState.REFUSED, why);
    }

    final void setState(SourceState to, String why) {
        reason = why;
        state = to;
    }
}
