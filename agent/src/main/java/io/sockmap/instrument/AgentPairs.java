package io.sockmap.instrument;

/**
 * Socket pairs as the agent splices them: one direction at a time, for sockets
 * ({@link SpliceHooks}) and channels ({@code ChannelSpliceHooks}) alike. Both directions of one
 * pair share an {@link Entry}, which also fixes the pair's orientation for the stats (which socket
 * is "A", the client side), so the second direction counts the other way even when neither socket
 * was seen being accepted (a proxy the agent was attached to while it waited in {@code accept}).
 *
 * <p>Counts: a pair is <em>spliced</em> once its first direction is in the kernel (a proxy that
 * only ever splices the download direction still has a spliced pair), and <em>active</em> while at
 * least one of its directions is live. Guarded by {@code this}: handovers and ends are rare.
 */
public final class AgentPairs {
    /** The directions of one socket pair that the agent handed to the engine. */
    private static final class Entry {
        private int started;
        private int live;
    }

    /** One direction's place in its pair's count. */
    public static final class Member {
        private final Entry pair;
        private final boolean aToB;
        private boolean counted;
        private boolean endCounted;
        private boolean endedEarly;

        private Member(Entry pair, boolean aToB) {
            this.pair = pair;
            this.aToB = aToB;
        }

        /** Whether this direction counts as A (client side) to B in the engine's stats. */
        public boolean aToB() { return aToB; }
    }

    /** A direction as the hooks hold it (a socket or a channel link). */
    public interface Paired {
        /** The member of the opposite direction of the same two sockets, spliced or being spliced, or null. */
        Member reverseMember();

        /** Stores this direction's member. */
        void member(Member m);
    }

    private long spliced;
    private long active;

    /**
     * Before a direction goes to the engine: joins the pair of its reverse direction, counting the
     * other way, or starts a new pair oriented by {@code sourceIsA}; stores and returns the member.
     * Both happen under this monitor, so two directions handed over at once still share one pair.
     */
    public synchronized Member enter(Paired direction, boolean sourceIsA) {
        Member reverse = direction.reverseMember();
        Member m = reverse != null ? new Member(reverse.pair, !reverse.aToB) : new Member(new Entry(), sourceIsA);
        direction.member(m);
        return m;
    }

    /** The engine took {@code m}'s direction. */
    public synchronized void started(Member m) {
        if (m.counted) return;
        m.counted = true;
        Entry e = m.pair;
        if (e.started++ == 0) spliced++;
        if (e.live++ == 0) active++;
        if (m.endedEarly) ended(m); // it ended before it was counted
    }

    /** {@code m}'s direction ended (EOF, abort, close, detach); counted once. */
    public synchronized void ended(Member m) {
        if (!m.counted) {
            m.endedEarly = true;
            return;
        }
        if (m.endCounted) return;
        m.endCounted = true;
        if (--m.pair.live == 0) active--;
    }

    /** {spliced, active}. */
    synchronized long[] counts() {
        return new long[] {spliced, active};
    }
}
