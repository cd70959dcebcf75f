package io.sockmap.instrument.channel;

import com.sun.jna.Pointer;
import io.sockmap.bootstrap.ChannelHooks;
import io.sockmap.detect.ChannelRelayDetector;
import io.sockmap.detect.ChannelTrack;
import io.sockmap.engine.FallbackReason;
import io.sockmap.engine.SpliceRefusedException;
import io.sockmap.engine.SplicedDirection;
import io.sockmap.instrument.AgentPairs;
import io.sockmap.instrument.InstrumentLog;
import io.sockmap.instrument.InstrumentSettings;
import io.sockmap.instrument.Splicer;
import io.sockmap.kernel.LibC;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The agent's side of the channel bridge; see the package documentation.
 *
 * <h2>A read of a spliced source</h2>
 * <ul>
 *   <li>while the kernel relays: 0 ("nothing now") for a non-blocking channel, so a selector or
 *       event loop simply goes idle on it (redirected bytes never make it readable); a blocking
 *       channel's read parks;
 *   <li>-1 once the engine reports EOF with every byte in the target's send queue (so the
 *       application's own {@code shutdownOutput()}/{@code close()} run as written), and on
 *       every later read;
 *   <li>{@code SocketException("Connection reset")} when the engine aborted the direction;
 *   <li>the real read once the application closed the source (it reports the closed channel) or
 *       the target (the engine let go of the source, whose later bytes come to userspace again).
 * </ul>
 * While the kernel relays, the source is registered without {@code POLLIN}: by a JDK selector
 * ({@link #pollEvents}) or Netty's epoll transport ({@link EpollRegistrations}); it gets it back
 * when the direction ends.
 */
public final class ChannelSpliceHooks implements ChannelHooks {
    /** Longest wait of a close of a non-blocking channel for the kernel's bytes in flight. */
    public static final long NON_BLOCKING_CLOSE_WAIT_MILLIS = 5;
    private static final Integer NOTHING_NOW = 0;
    private static final Integer EOF = -1;
    /** A parked reader is unparked when its direction ends; the timeout only bounds a missed wake-up. */
    private static final long MAX_PARK_NANOS = TimeUnit.SECONDS.toNanos(10);
    private static final long SHARED_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

    private static final boolean TRACE = Boolean.getBoolean("sockmap.trace");
    private final InstrumentSettings settings;
    private final InstrumentLog log;
    private final Splicer splicer;
    private final ChannelRelayDetector detector;
    private final ChannelRegistry registry = new ChannelRegistry();
    private final AgentPairs pairs;
    private final EpollRegistrations epoll = new EpollRegistrations();
    private final HandoverThread handovers = new HandoverThread();
    /** Fds accepted by a native server socket, not yet seen as a channel (which is then marked accepted). */
    private final java.util.Set<Integer> acceptedFds = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private static final int MAX_ACCEPTED_FDS = 65536;

    /**
     * @param pairs the pair counts, shared with the socket hooks (the summary's and MBean's
     *              "pairs spliced" cover both)
     */
    public ChannelSpliceHooks(InstrumentSettings settings, Splicer splicer, AgentPairs pairs) {
        this.pairs = pairs;
        this.settings = settings;
        this.log = settings.log();
        this.splicer = splicer;
        this.detector = new ChannelRelayDetector(settings.minBytes(), this::filterAccepts);
    }

    // ---------------------------------------------------------------- hooks

    @Override
    public Object beforeRead(Object channel) {
        try {
            TrackedChannel source = registry.get(channel);
            if (source == null) return null;
            ChannelLink link = source.asSource;
            if (link != null) return spliced(channel, source, link);
            if (!source.isUndecided()) return null;
            ChannelTrack target = detector.readyToSplice(source);
            if (target == null) return null;
            return handOver(channel, source, (TrackedChannel) target);
        } catch (Throwable t) {
            log.warnOnce("channel.read", "channel read hook failed, relaying in userspace: " + t);
            return null;
        }
    }

    @Override
    public void afterRead(Object channel, ByteBuffer buf, int off, int n) {
        TrackedChannel t = track(channel);
        if (t == null) return;
        try {
            if (n < 0) {
                detector.onEof(t);
            } else if (t.isUndecided()) {
                detector.onRead(t, buf, off, n);
            }
        } catch (Throwable e) {
            log.warnOnce("channel.afterRead", "channel read report failed: " + e);
        }
    }

    @Override
    public void afterReadAddress(Object channel, long address, int n) {
        TrackedChannel t = track(channel);
        if (t == null || !t.isUndecided()) return;
        try {
            detector.onRead(t, nativeBytes(address, n), 0, n);
        } catch (Throwable e) {
            log.warnOnce("channel.afterRead", "channel read report failed: " + e);
        }
    }

    @Override
    public void afterReadScatter(Object channel, ByteBuffer[] bufs, int offset, int length, int[] before, long n) {
        TrackedChannel t = track(channel);
        if (t == null || !t.isUndecided()) return;
        try {
            long left = n;
            for (int i = 0; i < length && left > 0; i++) {
                ByteBuffer b = bufs[offset + i];
                int got = (int) Math.min(left, b.position() - before[i]);
                if (got > 0) detector.onRead(t, b, before[i], got);
                left -= Math.max(0, got);
            }
        } catch (Throwable e) {
            log.warnOnce("channel.afterRead", "channel read report failed: " + e);
        }
    }

    @Override
    public void afterWrite(Object channel, ByteBuffer buf, int off, int n) {
        TrackedChannel t = track(channel);
        if (t == null) return;
        try {
            if (written(t, channel)) detector.onWrite(t, buf, off, n);
        } catch (Throwable e) {
            log.warnOnce("channel.afterWrite", "channel write report failed: " + e);
        }
    }

    @Override
    public void afterWriteAddress(Object channel, long address, int n) {
        TrackedChannel t = track(channel);
        if (t == null) return;
        try {
            if (written(t, channel)) detector.onWrite(t, nativeBytes(address, n), 0, n);
        } catch (Throwable e) {
            log.warnOnce("channel.afterWrite", "channel write report failed: " + e);
        }
    }

    @Override
    public void afterWriteGather(Object channel, ByteBuffer[] bufs, int offset, int length, int[] before, long n) {
        TrackedChannel t = track(channel);
        if (t == null || before == null) return;
        try {
            if (!written(t, channel)) return;
            long left = n;
            for (int i = 0; i < length && left > 0; i++) {
                ByteBuffer b = bufs[offset + i];
                int size = b.limit() - before[i];
                int part = (int) Math.min(left, size);
                if (part > 0) detector.onWrite(t, b, before[i], part);
                left -= Math.max(0, part);
            }
        } catch (Throwable e) {
            log.warnOnce("channel.afterWrite", "channel write report failed: " + e);
        }
    }

    @Override
    public void afterWriteIovec(Object channel, long iov, int count, long n) {
        TrackedChannel t = track(channel);
        if (t == null) return;
        try {
            if (!written(t, channel)) return;
            Pointer vec = new Pointer(iov);
            long left = n;
            for (int i = 0; i < count && left > 0; i++) {
                long base = vec.getLong(16L * i);
                long len = vec.getLong(16L * i + 8);
                int part = (int) Math.min(left, len);
                if (part > 0) detector.onWrite(t, nativeBytes(base, part), 0, part);
                left -= part;
            }
        } catch (Throwable e) {
            log.warnOnce("channel.afterWrite", "channel write report failed: " + e);
        }
    }

    @Override
    public int pollEvents(Object channel, int events) {
        if ((events & LibC.POLLIN) == 0) return events;
        TrackedChannel t = registry.get(channel);
        ChannelLink link = t == null ? null : t.asSource;
        return link != null && link.quietsSource() ? events & ~LibC.POLLIN : events;
    }

    @Override
    public int epollCtl(Class<?> nativeType, int efd, int fd, int flags) {
        return epoll.register(nativeType, efd, fd, flags);
    }

    @Override
    public void epollCtlDone(int fd) {
        epoll.done(fd);
    }

    @Override
    public void epollCtlDel(int efd, int fd) {
        epoll.removed(efd, fd);
    }

    @Override
    public void beforeClose(Object channel) {
        try {
            TrackedChannel tracked = registry.get(channel);
            if (tracked == null) return;
            boolean firstClose = !tracked.isClosed(); // a second close may meet a reused fd number
            detector.onClose(tracked);
            long drain = tracked.kind.isBlocking(channel) ? settings.drainTimeoutMillis()
                    : Math.min(settings.drainTimeoutMillis(), NON_BLOCKING_CLOSE_WAIT_MILLIS);
            ChannelLink link = tracked.asSource;
            if (link != null && !link.isReleased()) {
                link.release(drain, ChannelLink.SOURCE_CLOSED);
                log.debug("released spliced direction on close of its source " + describe(tracked.kind, channel));
            }
            link = tracked.asTarget;
            if (link != null && !link.isReleased()) {
                link.release(drain, ChannelLink.DETACHED);
                log.debug("released spliced direction on close of its target " + describe(tracked.kind, channel));
            }
            ChannelLink fed = tracked.asSource;
            if (fed != null && firstClose && splicer.prepareSourceClose(fed.sourceFd)) {
                // a spliced source keeps its unread bytes where the kernel's close does not see them
                log.debug("bytes left unread: close of " + describe(tracked.kind, channel) + " resets, as without the agent");
            }
            registry.remove(channel); // links hold what they need; later reads and writes of a closed channel fail
        } catch (Throwable t) {
            log.warnOnce("channel.close", "channel close hook failed: " + t);
        }
    }

    @Override
    public void acceptedFd(int fd) {
        if (acceptedFds.size() > MAX_ACCEPTED_FDS) acceptedFds.clear(); // only the stats' orientation depends on it
        acceptedFds.add(fd);
    }

    @Override
    public void accepted(Object channel) {
        TrackedChannel t = track(channel);
        if (t != null) t.markAccepted();
    }

    // ---------------------------------------------------------------- handover

    private Object handOver(Object channel, TrackedChannel source, TrackedChannel target) {
        Object targetChannel = target.channel();
        if (targetChannel == null || !target.kind.isOpen(targetChannel) || !source.kind.isOpen(channel)) {
            source.refused("a channel was closed during the handover");
            return null;
        }
        int sourceFd = source.kind.fd(channel);
        int targetFd = target.kind.fd(targetChannel);
        if (sourceFd < 0 || targetFd < 0) {
            source.refused("no file descriptor");
            splicer.recordFallback(FallbackReason.NO_FD);
            log.warnOnce("fallback." + FallbackReason.NO_FD, "kernel splicing skipped: cannot find a channel's file descriptor"
                    + "; relaying in userspace");
            return null;
        }
        ChannelLink link = new ChannelLink(source, channel, sourceFd, target, targetChannel, registry, epoll, pairs);
        registry.addLive(link);
        source.asSource = link;
        target.asTarget = link;
        pairs.enter(link, source.isAccepted() || !target.isAccepted());
        if (!source.kind.isBlocking(channel)) {
            // an event loop hands over on the agent's handover thread and serves its other
            // connections meanwhile (200 handovers held a NioSelectorProxy's selector thread for
            // 193 ms in all, up to 16 ms each, when 100 connections reached minBytes together).
            // Until the engine took the direction or refused it, the source is registered without
            // POLLIN and its reads answer "nothing now"; a refusal registers it again as before.
            link.handingOver();
            if (handovers.start(() -> {
                try {
                    completeHandover(channel, source, target, link, targetFd);
                } catch (Throwable t) {
                    log.warnOnce("channel.handover", "channel handover failed after the engine took it: " + t);
                }
            })) {
                return spliced(channel, source, link);
            }
            link.handoverNotStarted();
        }
        // a blocking channel's thread has nothing else to do: it hands over itself, then parks
        return completeHandover(channel, source, target, link, targetFd) ? spliced(channel, source, link) : null;
    }

    /**
     * Gives the direction to the engine: true if it took it; false if it refused (the source goes
     * back to userspace, every byte the engine read from it already written to the target).
     */
    private boolean completeHandover(Object channel, TrackedChannel source, TrackedChannel target, ChannelLink link,
                                     int targetFd) {
        SplicedDirection direction;
        try {
            direction = splicer.spliceDirection(link.sourceFd, targetFd, link.pair.aToB(), link);
            if (direction == null) throw new IllegalStateException("engine returned no direction");
        } catch (SpliceRefusedException e) {
            giveUp(source, link, "refused: " + e.getMessage());
            log.warnOnce("fallback." + e.reason(), "kernel splicing refused (" + e.getMessage() + "); relaying in userspace");
            return false;
        } catch (Throwable t) {
            giveUp(source, link, "failed: " + t);
            log.warnOnce("fallback.error", "kernel splicing failed (" + t + "); relaying in userspace");
            return false;
        }
        source.spliced();
        pairs.started(link.pair);
        link.attached(direction);
        link.quietSource();
        Object targetChannel = target.channel();
        log.debug("spliced fd " + link.sourceFd + " (" + describe(source.kind, channel) + ") -> fd " + targetFd + " ("
                + (targetChannel == null ? "closed" : describe(target.kind, targetChannel)) + ") after "
                + source.relayedBytes() + " bytes relayed in userspace");
        return true;
    }

    private static void giveUp(TrackedChannel source, ChannelLink link, String why) {
        source.refused(why);
        source.asSource = null;
        link.refused();
    }

    // ---------------------------------------------------------------- reads of a spliced source

    private Object spliced(Object channel, TrackedChannel source, ChannelLink link) {
        int outcome = link.outcome();
        if (outcome == ChannelLink.LIVE) {
            if (!source.kind.isBlocking(channel)) return NOTHING_NOW;
            outcome = park(link);
        }
        if (TRACE) System.err.println("[sockmap-trace] " + System.nanoTime() / 1000 + " read of spliced fd " + link.sourceFd + " -> outcome " + outcome);
        switch (outcome) {
            case ChannelLink.EOF:
                return EOF;
            case ChannelLink.RESET:
                SocketException reset = new SocketException("Connection reset");
                IOException cause = link.abortCause();
                if (cause != null) reset.initCause(cause);
                return reset;
            default:
                return null; // closed or detached: the real read runs
        }
    }

    /** A blocking channel's read: parks until the direction ends (interrupts are kept for the real read). */
    private static int park(ChannelLink link) {
        Thread me = Thread.currentThread();
        boolean registered = link.addWaiter(me);
        try {
            for (;;) {
                int outcome = link.outcome();
                if (outcome != ChannelLink.LIVE) return outcome;
                if (me.isInterrupted()) return ChannelLink.DETACHED; // the real read closes the channel and throws
                LockSupport.parkNanos(link, registered ? MAX_PARK_NANOS : SHARED_PARK_NANOS);
            }
        } finally {
            link.removeWaiter(me);
        }
    }

    // ---------------------------------------------------------------- helpers

    /** The channel's entry; {@code null} for channels that are not sockets. */
    private TrackedChannel track(Object channel) {
        TrackedChannel t = registry.get(channel);
        if (t != null) return t;
        ChannelKind kind = ChannelKind.of(channel);
        if (kind == ChannelKind.OTHER) return null;
        t = registry.getOrCreate(channel, kind);
        if (kind == ChannelKind.NETTY && !acceptedFds.isEmpty() && acceptedFds.remove(kind.fd(channel))) t.markAccepted();
        return t;
    }

    /** A write to {@code t}: false if nothing needs checking; warns when a live splice target is written. */
    private boolean written(TrackedChannel t, Object channel) {
        ChannelLink link = t.asTarget;
        if (link != null && link.outcome() == ChannelLink.LIVE) {
            log.warnOnce("channel.writeToSplicedTarget", "the application wrote to a channel that receives spliced bytes ("
                    + describe(t.kind, channel) + "): bytes may interleave; a pure relay never does this");
        }
        return true;
    }

    private static ByteBuffer nativeBytes(long address, int n) {
        return new Pointer(address).getByteBuffer(0, n);
    }

    private boolean filterAccepts(ChannelTrack source, ChannelTrack target) {
        TrackedChannel s = (TrackedChannel) source;
        TrackedChannel t = (TrackedChannel) target;
        Object sc = s.channel();
        Object tc = t.channel();
        if (sc == null || tc == null) return false;
        boolean sourceIsA = s.isAccepted() || !t.isAccepted();
        TrackedChannel a = sourceIsA ? s : t;
        TrackedChannel b = sourceIsA ? t : s;
        Object ac = sourceIsA ? sc : tc;
        Object bc = sourceIsA ? tc : sc;
        InetSocketAddress la = a.kind.localAddress(ac);
        InetSocketAddress ra = a.kind.remoteAddress(ac);
        InetSocketAddress lb = b.kind.localAddress(bc);
        InetSocketAddress rb = b.kind.remoteAddress(bc);
        return settings.filter().shouldSplice(la, ra, lb, rb);
    }

    private static String describe(ChannelKind kind, Object channel) {
        try {
            return kind.name().toLowerCase() + " " + kind.localAddress(channel) + "<->" + kind.remoteAddress(channel);
        } catch (RuntimeException e) {
            return "channel";
        }
    }

    /** For tests and diagnostics: directions handed to the engine and not yet released. */
    public int liveDirections() {
        return registry.live().size();
    }
}
