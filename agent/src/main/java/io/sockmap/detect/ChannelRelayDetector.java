package io.sockmap.detect;

import java.nio.ByteBuffer;
import java.util.Iterator;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The pure-relay rule for channels (NIO {@code SocketChannel}, Netty), where reads and writes
 * are not tied to a thread: a selector thread serves many connections, a buffer read from A may
 * be written to B later, in pieces, after a {@code compact()}, from another thread. So the rule
 * is about content, not about threads or buffers:
 *
 * <ul>
 *   <li>Every byte read from A is kept (copied) until it is seen written. A write to B must be
 *       exactly the next unwritten bytes of the one source that feeds B; then they count as
 *       relayed A -> B.
 *   <li>B's source is found by the first write to B that equals the head of some source's
 *       unwritten bytes (or the start of its latest read: a parsed preamble such as a CONNECT
 *       request is then forgotten). Writes to B matching no source before that are a preamble
 *       (greeting, PROXY header) and are ignored.
 *   <li>Once A feeds B, any other write to B makes A impure forever, and B -> A too (a proxy that
 *       transforms one direction is not spliced at all).
 *   <li>A source that delivered {@code max(minBytes, 1 MiB)} bytes before its first relayed byte,
 *       or that keeps more than {@code maxPending} bytes unwritten, is not a relay and is no
 *       longer watched; so is everything once the detector's memory budget is used up.
 * </ul>
 *
 * A direction is eligible once it relayed at least {@code minBytes} purely and the filter
 * accepts it; the caller hands it over at the next read of A that finds nothing unwritten
 * (every byte read from A is in B's socket, so no application buffer holds any of A's bytes).
 */
public final class ChannelRelayDetector {
    /** Bytes a source may hold read and unwritten while watched. */
    public static final int DEFAULT_MAX_PENDING = 4 << 20;
    /** All watched sources together. */
    public static final long DEFAULT_BUDGET = 64L << 20;
    private static final int MAX_CANDIDATES = 4096;
    /** Bytes a source may deliver before its first relayed byte (and a target may receive from no source). */
    public static final long PREAMBLE_LIMIT = 1 << 20;

    private final long minBytes;
    private final long preambleLimit;
    private final int maxPending;
    private final Filter filter;
    private final AtomicLong budget;
    /** Undecided sources with unwritten bytes and no target yet: where a new target's source is looked for. */
    private final Set<ChannelTrack> unattached = ConcurrentHashMap.newKeySet();

    /** Decides once, when a direction becomes eligible, whether the pair may be spliced at all. */
    @FunctionalInterface
    public interface Filter {
        boolean accept(ChannelTrack source, ChannelTrack target);
    }

    public ChannelRelayDetector(long minBytes, Filter filter) {
        this(minBytes, filter, DEFAULT_MAX_PENDING, DEFAULT_BUDGET);
    }

    public ChannelRelayDetector(long minBytes, Filter filter, int maxPending, long budget) {
        if (minBytes < 1) throw new IllegalArgumentException("minBytes must be >= 1: " + minBytes);
        this.minBytes = minBytes;
        // an event-driven relay may read ahead before its first write (a selector loop that reads
        // until EAGAIN, Netty's 16 reads per loop): allow 1 MiB, copies bounded by the budget
        this.preambleLimit = Math.max(minBytes, PREAMBLE_LIMIT);
        this.maxPending = maxPending;
        this.filter = filter == null ? (s, t) -> true : filter;
        this.budget = new AtomicLong(budget);
    }

    /** {@code bytes[position..limit)} were read from {@code a} (the buffer is not changed). */
    public void onRead(ChannelTrack a, ByteBuffer bytes) {
        onRead(a, bytes, bytes.position(), bytes.remaining());
    }

    /** {@code bytes[off..off+n)} were read from {@code a} (the buffer is not changed). */
    public void onRead(ChannelTrack a, ByteBuffer bytes, int off, int n) {
        if (!a.isUndecided()) return;
        if (n <= 0) return;
        synchronized (a) {
            if (!a.isUndecided()) return;
            if (a.target == null) {
                a.readBeforeRelaying += n;
                if (a.readBeforeRelaying > preambleLimit) {
                    decide(a, SourceState.NOT_A_RELAY, a.readBeforeRelaying + " bytes read, none relayed");
                    return;
                }
            }
            if (a.pending.size() + (long) n > maxPending) {
                decide(a, SourceState.NOT_A_RELAY, "more than " + maxPending + " bytes read and not written");
                return;
            }
            if (budget.addAndGet(-n) < 0) {
                budget.addAndGet(n);
                decide(a, SourceState.NOT_A_RELAY, "relay detection memory budget used up");
                return;
            }
            a.held += n;
            a.pending.append(bytes, off, n);
            if (a.target == null) unattached.add(a);
        }
    }

    /** {@code a} reached EOF. */
    public void onEof(ChannelTrack a) {
        a.markEof();
        if (!a.isUndecided()) return;
        synchronized (a) {
            if (a.isUndecided() && a.relayed < minBytes) decide(a, SourceState.ENDED, "EOF before " + minBytes + " bytes were relayed");
        }
    }

    /** {@code a} is being closed: it can no longer become a splice source. */
    public void onClose(ChannelTrack a) {
        a.markClosedFlag();
        synchronized (a) {
            if (a.isUndecided()) decide(a, SourceState.ENDED, "closed");
        }
    }

    /** {@code bytes[position..limit)} were written to {@code b} (the buffer is not changed). */
    public void onWrite(ChannelTrack b, ByteBuffer bytes) {
        onWrite(b, bytes, bytes.position(), bytes.remaining());
    }

    /** {@code bytes[off..off+n)} were written to {@code b} (the buffer is not changed). */
    public void onWrite(ChannelTrack b, ByteBuffer bytes, int off, int n) {
        if (n <= 0) return;
        ChannelTrack a = b.feeder;
        if (a == null) {
            if (b.unmatchedWritten > preambleLimit) return; // not a relay target
            a = attach(b, bytes, off, n);
            if (a == AMBIGUOUS) return;
            if (a == null) {
                b.unmatchedWritten += n;
                return;
            }
        }
        String impurity = null;
        synchronized (a) {
            if (!a.isUndecided()) return;
            if (a.pending.matches(bytes, off, n, 0)) {
                a.pending.consume(n);
                release(a, n);
                a.relayed += n;
                return;
            }
            impurity = a.pending.size() == 0 ? "its relay writes bytes it did not read" : "its relay writes other bytes than it read";
            decide(a, SourceState.IMPURE, impurity);
        }
        synchronized (b) {
            if (b.isUndecided()) decide(b, SourceState.IMPURE, "the other direction of a relay that " + impurity);
        }
    }

    /**
     * Called at a read of {@code a}: returns the target if A -> target should be handed to the
     * engine now (A moved to {@link SourceState#SPLICING}; the caller then calls
     * {@link ChannelTrack#spliced()} or {@link ChannelTrack#refused(String)}), else {@code null}.
     */
    public ChannelTrack readyToSplice(ChannelTrack a) {
        if (!a.isUndecided()) return null;
        synchronized (a) {
            if (!a.isUndecided() || a.target == null || a.relayed < minBytes || a.pending.size() > 0) return null;
            ChannelTrack b = a.target;
            if (a.isClosed() || a.isEof()) {
                decide(a, SourceState.ENDED, "closed before splicing");
                return null;
            }
            if (b.isClosed()) {
                decide(a, SourceState.ENDED, "target closed before splicing");
                return null;
            }
            boolean accepted;
            try {
                accepted = filter.accept(a, b);
            } catch (RuntimeException e) {
                accepted = false;
            }
            if (!accepted) {
                decide(a, SourceState.FILTERED, "rejected by the filter");
                return null;
            }
            a.setState(SourceState.SPLICING, "eligible");
            return b;
        }
    }

    /**
     * The source whose unwritten bytes start with {@code bytes}, now attached to {@code b}; or
     * null. Only a source that is the <em>only</em> match is attached: connections that carry the
     * same bytes (identical requests, a benchmark's pattern, health checks) would otherwise pair
     * a target with another connection's source, and splicing that pair would send one client's
     * bytes to another client's server. An ambiguous write is not counted against {@code b}
     * (a later, unique write may still attach it), and while it stays ambiguous nothing is
     * spliced, which is always safe.
     */
    private ChannelTrack attach(ChannelTrack b, ByteBuffer bytes, int off, int n) {
        ChannelTrack found = null;
        int foundAt = 0;
        int checked = 0;
        for (Iterator<ChannelTrack> it = unattached.iterator(); it.hasNext() && checked < MAX_CANDIDATES; checked++) {
            ChannelTrack a = it.next();
            if (a == b) continue;
            synchronized (a) {
                if (!a.isUndecided() || a.target != null || a.pending.size() == 0) {
                    it.remove();
                    continue;
                }
                int at;
                if (a.pending.matches(bytes, off, n, 0)) {
                    at = 0;
                } else if (a.pending.lastReadStart() > 0 && a.pending.matches(bytes, off, n, a.pending.lastReadStart())) {
                    at = a.pending.lastReadStart(); // what came before was a parsed preamble
                } else {
                    continue;
                }
                if (found != null) {
                    return AMBIGUOUS;
                }
                found = a;
                foundAt = at;
            }
        }
        if (found == null) return null;
        synchronized (found) {
            // checked again: the source may have been written, closed or attached meanwhile
            if (!found.isUndecided() || found.target != null || !found.pending.matches(bytes, off, n, foundAt)) return null;
            if (!ChannelTrack.FEEDER.compareAndSet(b, null, found)) return b.feeder; // never nest b's monitor in a's
            found.pending.consume(foundAt);
            release(found, foundAt);
            found.target = b;
            unattached.remove(found);
            return found;
        }
    }

    /** {@link #attach}'s answer when more than one source could have fed the write. */
    private static final ChannelTrack AMBIGUOUS = new ChannelTrack();

    /** Final state for {@code a}; frees its copies. Holds a's monitor. */
    private void decide(ChannelTrack a, SourceState to, String why) {
        if (!a.isUndecided()) return;
        a.setState(to, why);
        release(a, a.held);
        a.pending.clear();
        unattached.remove(a);
    }

    private void release(ChannelTrack a, long n) {
        long r = Math.min(n, a.held);
        a.held -= r;
        budget.addAndGet(r);
    }

    public long minBytes() { return minBytes; }
}
