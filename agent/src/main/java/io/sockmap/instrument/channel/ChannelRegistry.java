package io.sockmap.instrument.channel;

import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Channel -> {@link TrackedChannel}, keyed by identity (Netty's file descriptor objects compare
 * equal by fd number, and numbers are reused) and weakly (a channel the application drops is
 * forgotten). Live directions are held strongly in {@link #live} until released.
 */
final class ChannelRegistry {
    private final ConcurrentHashMap<Object, TrackedChannel> map = new ConcurrentHashMap<>();
    private final ReferenceQueue<Object> collected = new ReferenceQueue<>();
    private final Set<ChannelLink> live = ConcurrentHashMap.newKeySet();

    /** The entry of {@code channel}, or {@code null}. */
    TrackedChannel get(Object channel) {
        return map.get(new Lookup(channel));
    }

    /** The entry of {@code channel}, created with {@code kind} if missing. */
    TrackedChannel getOrCreate(Object channel, ChannelKind kind) {
        TrackedChannel t = map.get(new Lookup(channel));
        if (t != null) return t;
        expunge();
        Key key = new Key(channel, collected);
        TrackedChannel created = new TrackedChannel(key, kind); // the key is the entry's only weak reference
        t = map.putIfAbsent(key, created);
        return t != null ? t : created;
    }

    /**
     * Forgets {@code channel} now (it was closed), rather than when the GC has cleared its key: an
     * entry still in the map is live, so every young collection until then copied it (a proxy
     * serving short connections copied thousands per collection).
     */
    void remove(Object channel) {
        map.remove(new Lookup(channel));
    }

    void addLive(ChannelLink link) { live.add(link); }

    void removeLive(ChannelLink link) { live.remove(link); }

    Set<ChannelLink> live() { return live; }

    private void expunge() {
        Object k;
        while ((k = collected.poll()) != null) map.remove(k);
    }

    /** The stored key: weak, identity hash. */
    private static final class Key extends WeakReference<Object> {
        private final int hash;

        Key(Object channel, ReferenceQueue<Object> q) {
            super(channel, q);
            hash = System.identityHashCode(channel);
        }

        @Override public int hashCode() { return hash; }

        @Override
        public boolean equals(Object o) {
            if (o == this) return true;
            Object mine = get();
            if (mine == null) return false;
            if (o instanceof Key) return ((Key) o).get() == mine;
            if (o instanceof Lookup) return ((Lookup) o).channel == mine;
            return false;
        }
    }

    /** A strong, short-lived key for lookups. */
    private static final class Lookup {
        final Object channel;

        Lookup(Object channel) { this.channel = channel; }

        @Override public int hashCode() { return System.identityHashCode(channel); }

        @Override
        public boolean equals(Object o) {
            if (o == this) return true;
            if (o instanceof Key) return ((Key) o).get() == channel;
            return o instanceof Lookup && ((Lookup) o).channel == channel;
        }
    }
}
