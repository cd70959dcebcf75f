package io.sockmap.detect;

import java.util.concurrent.atomic.AtomicReferenceFieldUpdater;

/**
 * What {@link ChannelRelayDetector} knows about one channel, as a source (bytes read from it,
 * kept until they are seen written) and as a target (which source feeds it). Holds no reference
 * to the channel. Source-role fields are guarded by {@code this}.
 */
public class ChannelTrack {
    private volatile SourceState state = SourceState.UNDECIDED;
    private volatile String reason;

    // source role, guarded by this
    ChannelTrack target;
    long relayed;
    long readBeforeRelaying;
    final PendingBytes pending = new PendingBytes();
    long held; // bytes of pending charged to the detector's budget

    // target role
    volatile ChannelTrack feeder;
    static final AtomicReferenceFieldUpdater<ChannelTrack, ChannelTrack> FEEDER =
            AtomicReferenceFieldUpdater.newUpdater(ChannelTrack.class, ChannelTrack.class, "feeder");
    volatile long unmatchedWritten;

    private volatile boolean accepted;
    private volatile boolean closed;
    private volatile boolean eof;

    public final SourceState state() { return state; }

    /** Why the state is what it is (for logs); {@code null} while undecided. */
    public final String reason() { return reason; }

    public final boolean isUndecided() { return state == SourceState.UNDECIDED; }

    /** The channel this one's bytes are relayed to, or {@code null} before the first relayed byte. */
    public final synchronized ChannelTrack target() { return target; }

    /** Bytes relayed purely from this channel to {@link #target()} so far (counting stops once decided). */
    public final synchronized long relayedBytes() { return relayed; }

    /** Bytes read from this channel and not yet seen written to its target. */
    public final synchronized int pendingBytes() { return pending.size(); }

    public final boolean isAccepted() { return accepted; }

    public final void markAccepted() { accepted = true; }

    public final boolean isClosed() { return closed; }

    public final boolean isEof() { return eof; }

    final void markEof() { eof = true; }

    final void markClosedFlag() { closed = true; }

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
