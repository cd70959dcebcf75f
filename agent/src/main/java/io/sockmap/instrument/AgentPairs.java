package io.sockmap.instrument;

import io.sockmap.detect.RelayDetector;

/**
 * Socket pairs as the agent splices them: one direction at a time. Both directions of one pair of
 * sockets share an {@link Entry}, which also fixes the pair's orientation for the stats (which
 * socket is "A", the client side), so the second direction counts the other way even when
 * neither socket was seen being accepted (a proxy the agent was attached to while it waited in
 * {@code accept}).
 *
 * <p>Counts: a pair is <em>spliced</em> once its first direction is in the kernel (a proxy that
 * only ever splices the download direction still has a spliced pair), and <em>active</em> while at
 * least one of its directions is live. Guarded by {@code this}: handovers and ends are rare.
 */
final class AgentPairs {
    /** The directions of one socket pair that the agent handed to the engine. */
    static final class Entry {
        private int started;
        private int live;
    }

    private long spliced;
    private long active;

    /**
     * Before {@code link} goes to the engine: joins the pair of its reverse direction if that was
     * spliced (or is being spliced), else starts a new one; sets {@code link}'s pair and orientation.
     */
    synchronized void enter(SpliceLink link) {
        SpliceLink reverse = link.target.asSource;
        if (reverse != null && reverse != link && reverse.target == link.source && reverse.pair != null) {
            link.pair = reverse.pair;
            link.aToB = !reverse.aToB;
        } else {
            link.pair = new Entry();
            link.aToB = RelayDetector.sourceIsA(link.source, link.target);
        }
    }

    /** The engine took {@code link}'s direction. */
    synchronized void started(SpliceLink link) {
        Entry e = link.pair;
        if (e == null || link.counted) return;
        link.counted = true;
        if (e.started++ == 0) spliced++;
        if (e.live++ == 0) active++;
        if (link.outcome() != SpliceLink.LIVE) ended(link); // it ended before it was counted
    }

    /** {@code link}'s direction ended (EOF, abort, close, detach); no-op if it was never counted. */
    synchronized void ended(SpliceLink link) {
        Entry e = link.pair;
        if (e == null || !link.counted || link.endCounted) return;
        link.endCounted = true;
        if (--e.live == 0) active--;
    }

    /** {spliced, active}. */
    synchronized long[] counts() {
        return new long[] {spliced, active};
    }
}
