package io.sockmap.instrument.channel;

import io.sockmap.engine.DirectionListener;
import io.sockmap.engine.SplicedDirection;
import io.sockmap.instrument.AgentPairs;
import io.sockmap.kernel.KernelException;
import io.sockmap.kernel.LibC;

import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

/**
 * One direction of channels handed to the engine, seen from the application: the outcome a read
 * of the source returns, and the release done before either channel is closed. Holds strong
 * references to both channels until released, so nothing closes an fd the engine still uses.
 *
 * <p>When the direction ends, the source is kicked ({@code SO_RCVLOWAT}, which runs the socket's
 * data-ready callback when it has seen FIN or an error): an edge-triggered event loop (Netty's
 * epoll transport) that read "nothing now" while the engine was still draining gets a fresh
 * readiness event and reads again, now seeing EOF or the error. This runs on the engine's
 * watcher before any detach, so the fd is still the source's.
 */
final class ChannelLink implements DirectionListener, AgentPairs.Paired {
    static final int LIVE = 0;
    static final int EOF = 1;
    static final int RESET = 2;
    static final int SOURCE_CLOSED = 3;
    static final int DETACHED = 4;

    final TrackedChannel source;
    final TrackedChannel target;
    final int sourceFd;
    private volatile Object sourceChannel;
    private volatile Object targetChannel;
    private volatile SplicedDirection direction;
    private volatile int outcome = LIVE;
    private volatile IOException abortCause;
    private volatile Thread waiter;
    /** Selectors were asked to leave POLLIN out for the source (see {@link #quietSource()}). */
    private volatile boolean quieted;
    /** The handover thread is giving this direction to the engine (see {@link #handingOver()}). */
    private volatile boolean handingOver;
    private final AtomicBoolean released = new AtomicBoolean();
    private volatile boolean releaseRequested;
    private volatile long releaseDrainMillis;
    private volatile int releaseOutcome;
    private final ChannelRegistry registry;
    private final EpollRegistrations epoll;
    private final AgentPairs pairs;
    /** This direction's place in the pair counts; set by the handover before the engine sees the direction. */
    volatile AgentPairs.Member pair;

    @Override
    public AgentPairs.Member reverseMember() {
        ChannelLink reverse = target.asSource;
        return reverse != null && reverse != this && reverse.target == source ? reverse.pair : null;
    }

    @Override
    public void member(AgentPairs.Member m) {
        pair = m;
    }

    ChannelLink(TrackedChannel source, Object sourceChannel, int sourceFd, TrackedChannel target, Object targetChannel,
                ChannelRegistry registry, EpollRegistrations epoll, AgentPairs pairs) {
        this.pairs = pairs;
        this.source = source;
        this.target = target;
        this.sourceFd = sourceFd;
        this.sourceChannel = sourceChannel;
        this.targetChannel = targetChannel;
        this.registry = registry;
        this.epoll = epoll;
    }

    int outcome() { return outcome; }

    IOException abortCause() { return abortCause; }

    SplicedDirection direction() { return direction; }

    void attached(SplicedDirection d) {
        direction = d;
        handingOver = false;
        if (releaseRequested) release(releaseDrainMillis, releaseOutcome);
    }

    /**
     * An event loop's read found the source ready and queued its handover: from now until the
     * engine took the direction ({@link #attached}) or refused it ({@link #refused}), reads of the
     * source answer "nothing now" and selectors leave {@code POLLIN} out; a close waits for the
     * outcome first ({@link #release}), so the engine never works on a closed (or reused) fd.
     */
    void handingOver() {
        handingOver = true;
        quietSource();
    }

    /** The handover thread could not take the handover: the caller hands over itself. */
    void handoverNotStarted() {
        handingOver = false;
    }

    /**
     * Whether a selector should leave {@code POLLIN} out of the source's registration: the
     * kernel relays its bytes, and reads return "nothing now" until the direction ends. The
     * kernel still runs the socket's data-ready callback at every redirected segment; with
     * {@code POLLIN} registered, each one woke the selector thread to find nothing.
     */
    boolean quietsSource() {
        return outcome == LIVE && (direction != null || handingOver);
    }

    /**
     * After the handover: registers the source again without {@code POLLIN}/{@code EPOLLIN} (a
     * JDK selector translates its interest set again, Netty's epoll registration is modified).
     * When the direction ends, {@link #finish} registers it as the application asked, so EOF,
     * the reset or the bytes that come to userspace again are seen.
     */
    void quietSource() {
        if (quieted) return; // an event loop's handover quieted it when it started
        quieted = true;
        reregisterSource();
    }

    private void reregisterSource() {
        if (source.kind == ChannelKind.NETTY) {
            if (quietsSource()) {
                epoll.quiet(sourceFd);
            } else {
                epoll.wake(sourceFd);
            }
            return;
        }
        Object c = sourceChannel;
        if (c instanceof SocketChannel) SelectorKeys.refresh((SocketChannel) c); // the selector reads quietsSource() there
    }

    void refused() {
        handingOver = false;
        released.set(true);
        finish(DETACHED);
        dropReferences();
    }

    @Override
    public void onEof() {
        finish(EOF);
        kick();
    }

    @Override
    public void onAbort(IOException cause) {
        abortCause = cause;
        finish(RESET);
        kick();
    }

    private void kick() {
        if (released.get()) return;
        try {
            LibC.setsockoptInt(sourceFd, LibC.SOL_SOCKET, LibC.SO_RCVLOWAT, 1, "setsockopt(SO_RCVLOWAT)");
        } catch (KernelException | RuntimeException ignored) {
            // the source is gone: nobody waits for it
        }
    }

    /**
     * Before the application closes one of the channels: waits up to {@code drainMillis} for the
     * kernel's bytes in flight to reach the target's send queue, detaches the direction, drops
     * the references and wakes a parked reader with {@code closedOutcome} (unless it ended).
     */
    void release(long drainMillis, int closedOutcome) {
        // a handover in progress ends attached or refused (released): the fds must stay open until then
        SplicedDirection d = awaitAttached(handingOver ? Math.max(drainMillis, MAX_HANDOVER_WAIT_MILLIS) : drainMillis);
        if (d == null) {
            releaseDrainMillis = drainMillis;
            releaseOutcome = closedOutcome;
            releaseRequested = true;
            if (direction == null) return;
            d = direction;
        }
        if (!released.compareAndSet(false, true)) return;
        try {
            if (!d.isDone()) {
                try {
                    d.awaitDrained(drainMillis);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        } catch (RuntimeException ignored) {
            // detach anyway
        } finally {
            try {
                d.detach();
            } catch (RuntimeException ignored) {
                // the engine must let go of the fds whatever happens
            }
            finish(closedOutcome);
            dropReferences();
        }
    }

    boolean isReleased() { return released.get(); }

    private void dropReferences() {
        sourceChannel = null;
        targetChannel = null;
        if (target.asTarget == this) target.asTarget = null;
        registry.removeLive(this);
    }

    /** Longest wait of a close for a handover in progress (it takes milliseconds; the bound is for the unforeseen). */
    static final long MAX_HANDOVER_WAIT_MILLIS = 30_000;

    private SplicedDirection awaitAttached(long maxMillis) {
        SplicedDirection d = direction;
        long deadline = System.nanoTime() + maxMillis * 1_000_000L;
        while (d == null && !released.get() && System.nanoTime() - deadline < 0) {
            LockSupport.parkNanos(this, 200_000L);
            d = direction;
        }
        return d;
    }

    private void finish(int to) {
        boolean ended;
        synchronized (this) {
            ended = outcome == LIVE;
            if (ended) outcome = to;
        }
        AgentPairs.Member m = pair;
        if (ended && m != null) pairs.ended(m);
        Thread w = waiter;
        if (w != null) LockSupport.unpark(w);
        if (ended && quieted) reregisterSource();
    }

    /** Registers {@code t} as the parked reader to wake (blocking channels); false if another holds the slot. */
    boolean addWaiter(Thread t) {
        synchronized (this) {
            if (waiter != null && waiter != t) return false;
            waiter = t;
            return true;
        }
    }

    void removeWaiter(Thread t) {
        synchronized (this) {
            if (waiter == t) waiter = null;
        }
    }
}
