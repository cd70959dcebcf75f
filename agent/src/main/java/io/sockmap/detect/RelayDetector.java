package io.sockmap.detect;

/**
 * Turns "thread T read n bytes from socket A into X[off..)" and "thread T wrote X[off..off+len)
 * to socket B" reports into relay directions, with the pure-relay rule:
 *
 * <ul>
 *   <li>The bytes a thread reads from A are queued (copied) until it writes them: its writes to
 *       one socket B must be exactly those bytes, in order, in any chunking and from any array
 *       (a relay may read into one buffer and write from another, read several times before one
 *       write, or write one read in pieces). Bytes written count as relayed A -> B.
 *   <li>Once relaying started (a first byte went A -> B), anything else makes A impure forever:
 *       a write whose bytes differ from the next unwritten bytes read, a write to a socket other
 *       than B (including A itself) or a write with no read bytes pending. A relay holding more
 *       than 4 MiB read but not written is not spliced either.
 *   <li>Before relaying started, a preamble is tolerated: reads that are parsed instead of
 *       written (a CONNECT or SOCKS handshake; the first relayed write may begin at the start of
 *       any read), writes with no read pending (a greeting, a PROXY header) and writes back to A.
 *       A write to another socket that begins no pending read, while one is pending, is impure
 *       even then: that is a transforming proxy.
 *   <li>A source that delivered {@code max(minBytes, 64 KiB)} bytes before its first relayed byte
 *       is not a relay (a server or a client reading its peer) and is no longer watched.
 *   <li>The relay thread must be dedicated: once relaying started, A is read by one thread only,
 *       that thread reads no other socket while A is open (a thread that alternates A and B
 *       cannot park in A), and B is written by that thread only. Before relaying started another
 *       thread may have read A and written to B or A (a connection thread that answers a
 *       handshake and then starts the relay threads).
 * </ul>
 *
 * A direction is eligible once it relayed at least {@code minBytes} purely and the filter
 * accepts the pair; the caller hands it over at the relay thread's next read of A, when that
 * thread has written everything it read (so no byte read from A is left in the application,
 * for example in a {@code BufferedOutputStream}). Once a socket is decided, reports about it
 * cost a field read: no locking, no copy.
 *
 * <p>Thread-safety: each {@link ThreadTrack} is used by its own thread only; source-role state is
 * guarded by the source's {@link SocketTrack} monitor.
 */
public final class RelayDetector {
    /** Default threshold: 64 KiB relayed purely before a direction is spliced. */
    public static final long DEFAULT_MIN_BYTES = 64 * 1024;

    private final long minBytes;
    private final long preambleLimit;
    private final SpliceFilter filter;

    public RelayDetector(long minBytes, SpliceFilter filter) {
        if (minBytes < 1) throw new IllegalArgumentException("minBytes must be >= 1: " + minBytes);
        this.minBytes = minBytes;
        this.preambleLimit = Math.max(minBytes, DEFAULT_MIN_BYTES);
        this.filter = filter == null ? SpliceFilter.ACCEPT_ALL : filter;
    }

    public long minBytes() { return minBytes; }

    /** Thread {@code t} read {@code n} bytes from {@code a} into {@code b[off..off+n)} ({@code n < 0}: EOF). */
    public void onRead(ThreadTrack t, SocketTrack a, byte[] b, int off, int n) {
        SocketTrack previous = t.source;
        if (previous != a) {
            t.clearPending();
            if (previous != null) leave(t, previous);
            t.source = a;
        }
        if (!a.isUndecided()) {
            t.clearPending();
            if (n < 0) a.markEof();
            return;
        }
        synchronized (a) {
            if (!a.isUndecided()) {
                t.clearPending();
                return;
            }
            if (a.reader == null || a.target == null) {
                a.reader = t; // before relaying, another thread may take over (it parsed a handshake)
            } else if (a.reader != t) {
                t.clearPending();
                a.setState(SourceState.NOT_DEDICATED, "read by more than one thread");
                return;
            }
            if (n < 0) {
                t.clearPending();
                a.markEof();
                a.setState(SourceState.ENDED, "EOF before " + minBytes + " bytes were relayed");
                return;
            }
            if (n == 0) return;
            if (a.target == null) {
                a.readBeforeRelaying += n;
                if (a.readBeforeRelaying > preambleLimit) {
                    t.clearPending();
                    a.setState(SourceState.NOT_A_RELAY, a.readBeforeRelaying + " bytes read, none relayed");
                    return;
                }
                // a preamble too long to keep: forget it (the relayed bytes start later)
                if (!t.append(b, off, n, true)) {
                    t.clearPending();
                    if (!t.append(b, off, n, true)) {
                        a.setState(SourceState.NOT_A_RELAY, "a read of " + n + " bytes before any was relayed");
                    }
                }
            } else if (!t.append(b, off, n, false)) {
                t.clearPending();
                a.setState(SourceState.NOT_A_RELAY, "its relay thread holds more than " + ThreadTrack.MAX_PENDING
                        + " bytes read but not written");
            }
        }
    }

    /**
     * Thread {@code t} wrote {@code b[off..off+len)} to {@code target}. When that makes the
     * direction A -> target impure, target -> A is decided impure as well: a proxy that
     * transforms one direction is not spliced at all (if target -> A was spliced already, it
     * stays so: it is a pure copy).
     */
    public void onWrite(ThreadTrack t, SocketTrack target, byte[] b, int off, int len) {
        if (len <= 0) return;
        target.wroteBy(t);
        SocketTrack a = t.source;
        if (a == null || !a.isUndecided()) return;
        String impurity;
        SocketTrack peer;
        boolean startedNow;
        synchronized (a) {
            if (!a.isUndecided()) return;
            boolean startedBefore = a.target != null;
            impurity = check(t, a, target, b, off, len);
            startedNow = impurity == null && !startedBefore && a.target != null;
            if (impurity == null && !startedNow) return;
            if (impurity != null) {
                t.clearPending();
                a.setState(SourceState.IMPURE, impurity);
            }
            peer = a.target != null ? a.target : target;
        }
        // outside a's monitor: the reverse direction's thread may hold peer's and want a's
        if (startedNow) {
            target.relayWriterIs(t); // threads that wrote a preamble to it before do not count
            return;
        }
        if (peer != a) peer.decide(SourceState.IMPURE, "the other direction of a relay that " + impurity);
    }

    /** Applies a write; returns why it makes the direction impure, or null. Holds a's monitor. */
    private static String check(ThreadTrack t, SocketTrack a, SocketTrack target, byte[] b, int off, int len) {
        boolean started = a.target != null;
        if (target == a) return started ? "its relay thread also writes to it" : null;
        if (started && target != a.target) return "its relay thread writes to a second socket";
        if (!t.hasUnwrittenBytes()) return started ? "its relay thread writes bytes it did not read" : null;
        boolean same = started ? t.headEquals(b, off, len) : t.alignTo(b, off, len);
        if (!same) return "its relay thread writes other bytes than it read";
        a.target = target;
        t.consume(len);
        a.relayed += len;
        return null;
    }

    /**
     * Thread {@code t} is about to read {@code a}: returns the target if A -> target should be
     * handed to the engine now (A moved to {@link SourceState#SPLICING}; the caller then calls
     * {@link SocketTrack#spliced()} or {@link SocketTrack#refused(String)}), else {@code null}.
     */
    public SocketTrack readyToSplice(ThreadTrack t, SocketTrack a) {
        if (t.source != a || !a.isUndecided() || t.hasUnwrittenBytes()) return null;
        synchronized (a) {
            if (!a.isUndecided() || a.relayed < minBytes || a.reader != t) return null;
            SocketTrack b = a.target;
            if (a.isClosed() || a.isEof()) {
                a.setState(SourceState.ENDED, "closed before splicing");
                return null;
            }
            if (b.isClosed()) {
                a.setState(SourceState.ENDED, "target closed before splicing");
                return null;
            }
            if (b.hasSeveralWriters() || b.writer() != t) {
                a.setState(SourceState.NOT_DEDICATED, "target written by more than one thread");
                return null;
            }
            boolean accepted;
            try {
                accepted = filter.accept(a, b);
            } catch (RuntimeException e) {
                accepted = false;
            }
            if (!accepted) {
                a.setState(SourceState.FILTERED, "rejected by the filter");
                return null;
            }
            a.setState(SourceState.SPLICING, "eligible");
            return b;
        }
    }

    /**
     * The stats' and filter's orientation: the source is side "A" (aToB) when it was accepted by a
     * server socket (client -> server), or when the target was not accepted either (then the
     * source of the first direction asked about is simply called A).
     */
    public static boolean sourceIsA(SocketTrack source, SocketTrack target) {
        return source.isAccepted() || !target.isAccepted();
    }

    /** {@code t} reads another socket while {@code previous} is open: not a dedicated relay thread. */
    private static void leave(ThreadTrack t, SocketTrack previous) {
        if (!previous.isUndecided()) return;
        synchronized (previous) {
            if (!previous.isUndecided() || previous.reader != t) return;
            if (previous.isEof() || previous.isClosed()) return;
            if (previous.target == null) {
                previous.reader = null; // it only read a handshake: a relay thread may take over
                return;
            }
            previous.setState(SourceState.NOT_DEDICATED, "its relay thread also reads another socket");
        }
    }
}
