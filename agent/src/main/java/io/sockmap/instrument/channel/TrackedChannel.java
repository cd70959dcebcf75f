package io.sockmap.instrument.channel;

import io.sockmap.detect.ChannelTrack;

import java.lang.ref.WeakReference;

/**
 * A channel as the instrumentation sees it: the detector's state, the channel's kind, and the
 * spliced direction it is the source or the target of. Refers to its channel weakly; a live
 * {@link ChannelLink} holds the strong references.
 */
final class TrackedChannel extends ChannelTrack {
    private final WeakReference<Object> channel;
    final ChannelKind kind;
    /** The direction this channel feeds, once spliced (kept after it ends: reads see its outcome). */
    volatile ChannelLink asSource;
    /** The live direction writing into this channel, or {@code null}. */
    volatile ChannelLink asTarget;

    /** {@code channel}: the registry's weak key of the channel (one weak reference per channel, not two). */
    TrackedChannel(WeakReference<Object> channel, ChannelKind kind) {
        this.channel = channel;
        this.kind = kind;
    }

    /** The channel, or {@code null} if it was collected. */
    Object channel() { return channel.get(); }
}
