package io.sockmap.instrument;

import io.sockmap.engine.SocketFds;
import io.sockmap.bootstrap.SocketHooks;
import io.sockmap.detect.RelayDetector;
import io.sockmap.detect.SocketTrack;
import io.sockmap.detect.SpliceFilter;
import io.sockmap.engine.FallbackReason;
import io.sockmap.engine.SpliceRefusedException;
import io.sockmap.engine.SplicedDirection;

import java.io.IOException;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The agent's side of the socket bridge: feeds reads and writes to the {@link RelayDetector},
 * hands an eligible direction to the engine from its relay thread, and emulates blocking reads
 * of a spliced source.
 *
 * <h2>A read of a spliced source</h2>
 * The relay thread does not enter the kernel (a thread blocked in {@code recv} on a socket in the
 * map is woken by every redirect for nothing, and the engine needs the source's receive queue for
 * itself). It parks here, virtual-thread friendly ({@link LockSupport}), and returns:
 * <ul>
 *   <li>-1 once the engine reports EOF with every byte in the target's send queue, so the
 *       application's own {@code shutdownOutput()}/{@code close()} run as written; -1 again on
 *       every later read;
 *   <li>{@code SocketException("Connection reset")} when the engine aborts the direction;
 *   <li>{@code SocketException("Socket closed")} when another thread closes the source;
 *   <li>a normal userspace read when another thread closes the target (the engine lets go of
 *       the source, as without the agent the relay would read on and fail on its next write);
 *   <li>{@code SocketTimeoutException("Read timed out")} if the source has {@code SO_TIMEOUT} and
 *       <em>no byte moved through the kernel</em> for a whole timeout period: an idle timeout.
 *       Bytes moving keep the read parked, since the application would have seen them;
 *   <li>{@code SocketException("Closed by interrupt")} after closing the socket, when a
 *       virtual thread is interrupted (what JDK 21+ does for a blocked virtual-thread read);
 *       platform threads ignore interrupts, as a blocked socket read does (the flag is kept).
 * </ul>
 *
 * <h2>Close</h2>
 * {@code Socket.close()} on the source or target of a live direction first waits (bounded by
 * the drain timeout) until the kernel's bytes in flight reached the target's send queue, then
 * detaches the direction from the engine, then lets the real close run.
 */
final class SpliceHooks implements SocketHooks {
    private static final Integer EOF = -1;
    /** A parked reader is unparked when its direction ends; the timeout only bounds a missed wake-up. */
    private static final long MAX_PARK_NANOS = TimeUnit.SECONDS.toNanos(10);
    private static final long SHARED_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(20);
    private static final MethodHandle IS_VIRTUAL = isVirtualHandle();
    private static final ThreadLocal<ThreadContext> CONTEXT = ThreadLocal.withInitial(ThreadContext::new);

    private final InstrumentSettings settings;
    private final InstrumentLog log;
    private final Splicer splicer;
    private final RelayDetector detector;
    private final SocketRegistry registry = new SocketRegistry();

    SpliceHooks(InstrumentSettings settings, Splicer splicer) {
        this.settings = settings;
        this.log = settings.log();
        this.splicer = splicer;
        this.detector = new RelayDetector(settings.minBytes(), this::filterAccepts);
    }

    // ---------------------------------------------------------------- hooks

    @Override
    public Object beforeRead(Socket socket, int len) {
        ThreadContext ctx = CONTEXT.get();
        if (ctx.busy) return null;
        ctx.busy = true;
        try {
            TrackedSocket source = ctx.lookup(socket, registry);
            SpliceLink link = source.asSource;
            if (link != null) return len == 0 ? null : awaitSpliced(socket, source, link);
            if (!source.isUndecided() || len == 0) return null;
            SocketTrack target = detector.readyToSplice(ctx.track, source);
            if (target == null) return null;
            link = handOver(socket, source, (TrackedSocket) target);
            return link == null ? null : awaitSpliced(socket, source, link);
        } catch (Throwable t) {
            log.warnOnce("hooks.read", "socket read hook failed, relaying in userspace: " + t);
            return null;
        } finally {
            ctx.busy = false;
        }
    }

    /**
     * {@code available()} is 0 for a live spliced source, and for an undecided source that this
     * thread relays and that relayed enough to be handed over: a {@code BufferedInputStream}
     * then returns the bytes it holds instead of refilling first, the relay writes them, and the
     * write that empties what it read hands the direction over ({@link #handOverAfterWrite}).
     */
    @Override
    public boolean hidesAvailable(Socket socket) {
        ThreadContext ctx = CONTEXT.get();
        if (ctx.busy) return false;
        TrackedSocket s = ctx.cached(socket);
        if (s == null) s = registry.get(socket);
        if (s == null) return false;
        SpliceLink link = s.asSource;
        if (link != null) return link.outcome() == SpliceLink.LIVE;
        return s.isUndecided() && ctx.track.source() == s && s.relayedBytes() >= detector.minBytes();
    }

    @Override
    public void afterRead(Socket socket, byte[] b, int off, int n) {
        ThreadContext ctx = CONTEXT.get();
        if (ctx.busy) return;
        ctx.busy = true;
        try {
            detector.onRead(ctx.track, ctx.lookup(socket, registry), b, off, n);
        } catch (Throwable t) {
            log.warnOnce("hooks.afterRead", "socket read report failed: " + t);
        } finally {
            ctx.busy = false;
        }
    }

    @Override
    public void afterWrite(Socket socket, byte[] b, int off, int len) {
        ThreadContext ctx = CONTEXT.get();
        if (ctx.busy) return;
        ctx.busy = true;
        try {
            TrackedSocket target = ctx.lookup(socket, registry);
            detector.onWrite(ctx.track, target, b, off, len);
            SpliceLink link = target.asTarget;
            if (link == null) {
                handOverAfterWrite(ctx);
            } else if (link.outcome() == SpliceLink.LIVE) {
                log.warnOnce("hooks.writeToSplicedTarget", "the application wrote to a socket that receives "
                        + "spliced bytes (" + describe(socket) + "): bytes may interleave; a pure relay never does this");
            }
        } catch (Throwable t) {
            log.warnOnce("hooks.afterWrite", "socket write report failed: " + t);
        } finally {
            ctx.busy = false;
        }
    }

    @Override
    public void beforeClose(Socket socket) {
        try {
            TrackedSocket tracked = CONTEXT.get().cached(socket);
            if (tracked == null) tracked = registry.get(socket);
            if (tracked == null) return;
            boolean firstClose = !tracked.isClosed(); // a second close may meet a reused fd number
            tracked.markClosed();
            long drain = settings.drainTimeoutMillis();
            SpliceLink link = tracked.asSource;
            if (link != null && !link.isReleased()) {
                long start = System.nanoTime();
                link.release(drain, SpliceLink.SOURCE_CLOSED);
                log.debug("released spliced direction on close of its source " + describe(socket) + " in " + millisSince(start) + " ms");
            }
            link = tracked.asTarget;
            if (link != null && !link.isReleased()) {
                long start = System.nanoTime();
                link.release(drain, SpliceLink.DETACHED);
                log.debug("released spliced direction on close of its target " + describe(socket) + " in " + millisSince(start) + " ms");
            }
            if (tracked.asSource != null && firstClose && splicer.prepareSourceClose(SocketFds.of(socket))) {
                // a spliced source keeps its unread bytes where the kernel's close does not see them
                log.debug("bytes left unread: close of " + describe(socket) + " resets, as without the agent");
            }
        } catch (Throwable t) {
            log.warnOnce("hooks.close", "socket close hook failed: " + t);
        }
    }

    @Override
    public void accepted(Socket socket) {
        try {
            registry.getOrCreate(socket).markAccepted();
        } catch (Throwable t) {
            log.warnOnce("hooks.accept", "accept hook failed: " + t);
        }
    }

    // ---------------------------------------------------------------- handover

    /**
     * The relay thread just wrote the last byte it had read from its source: the earliest moment
     * the direction can be handed over, and sometimes the only one. A relay reading through a
     * {@code BufferedInputStream} refills it while it still holds bytes of the previous fill
     * whenever the socket has more to read, so at its socket reads it almost never holds nothing
     * (a fast sender kept such a relay in userspace for megabytes). The handover runs here, on the
     * relay thread, after the write; the thread's next read of the source parks as usual.
     */
    private void handOverAfterWrite(ThreadContext ctx) {
        SocketTrack source = ctx.track.source();
        if (!(source instanceof TrackedSocket) || !source.isUndecided()) return;
        TrackedSocket a = (TrackedSocket) source;
        if (a.asSource != null) return;
        Socket sourceSocket = a.socket();
        if (sourceSocket == null) return;
        SocketTrack target = detector.readyToSplice(ctx.track, a);
        if (target != null) handOver(sourceSocket, a, (TrackedSocket) target);
    }

    /** Hands A -> target to the engine; returns the live link, or {@code null} (the relay stays in userspace). */
    private SpliceLink handOver(Socket socket, TrackedSocket source, TrackedSocket target) {
        Socket targetSocket = target.socket();
        if (targetSocket == null || targetSocket.isClosed() || socket.isClosed()) {
            source.refused("a socket was closed during the handover");
            return null;
        }
        int sourceFd = SocketFds.of(socket);
        int targetFd = SocketFds.of(targetSocket);
        if (sourceFd < 0 || targetFd < 0) {
            source.refused("no file descriptor");
            splicer.recordFallback(FallbackReason.NO_FD);
            Throwable why = SocketFds.unavailableBecause();
            log.warnOnce("fallback." + FallbackReason.NO_FD, "kernel splicing skipped: cannot find a socket's file descriptor"
                    + (why == null ? " (custom SocketImpl?)" : " (" + why + ")") + "; relaying in userspace");
            return null;
        }
        SpliceLink link = new SpliceLink(source, socket, target, targetSocket, registry);
        registry.addLive(link);
        source.asSource = link;
        target.asTarget = link;
        registry.pairs().enter(link, RelayDetector.sourceIsA(source, target));
        SplicedDirection direction;
        try {
            direction = splicer.spliceDirection(sourceFd, targetFd, link.pair.aToB(), link);
            if (direction == null) throw new IllegalStateException("engine returned no direction");
        } catch (SpliceRefusedException e) {
            giveUp(source, link, "refused: " + e.getMessage());
            log.warnOnce("fallback." + e.reason(), "kernel splicing refused (" + e.getMessage() + "); relaying in userspace");
            return null;
        } catch (Throwable t) {
            giveUp(source, link, "failed: " + t);
            log.warnOnce("fallback.error", "kernel splicing failed (" + t + "); relaying in userspace");
            return null;
        }
        source.spliced();
        registry.pairs().started(link.pair);
        link.attached(direction);
        log.debug("spliced fd " + sourceFd + " (" + describe(socket) + ") -> fd " + targetFd + " ("
                + describe(targetSocket) + ") after " + source.relayedBytes() + " bytes relayed in userspace");
        return link;
    }

    private static void giveUp(TrackedSocket source, SpliceLink link, String why) {
        source.refused(why);
        source.asSource = null;
        link.refused();
    }

    // ---------------------------------------------------------------- parked read

    private Object awaitSpliced(Socket socket, TrackedSocket source, SpliceLink link) {
        Thread me = Thread.currentThread();
        boolean registered = link.addWaiter(me);
        boolean interrupted = false;
        try {
            long timeoutNanos = TimeUnit.MILLISECONDS.toNanos(soTimeout(socket));
            long periodStart = System.nanoTime();
            long moved = kernelBytes(link);
            for (;;) {
                int outcome = link.outcome();
                if (outcome != SpliceLink.LIVE) return outcomeOf(outcome, source, link);
                if (Thread.interrupted()) {
                    interrupted = true;
                    if (isVirtual(me)) {
                        closeQuietly(socket);
                        return new SocketException("Closed by interrupt");
                    }
                }
                long waitNanos = MAX_PARK_NANOS;
                if (timeoutNanos > 0) {
                    long now = System.nanoTime();
                    long left = periodStart + timeoutNanos - now;
                    if (left <= 0) {
                        long nowMoved = kernelBytes(link);
                        if (nowMoved == moved) return new SocketTimeoutException("Read timed out");
                        moved = nowMoved;
                        periodStart = now;
                        left = timeoutNanos;
                    }
                    waitNanos = Math.min(waitNanos, left);
                }
                LockSupport.parkNanos(link, registered ? waitNanos : Math.min(waitNanos, SHARED_PARK_NANOS));
            }
        } finally {
            link.removeWaiter(me);
            if (interrupted) me.interrupt();
        }
    }

    private static Object outcomeOf(int outcome, TrackedSocket source, SpliceLink link) {
        switch (outcome) {
            case SpliceLink.DETACHED:
                return null;
            case SpliceLink.SOURCE_CLOSED:
                return new SocketException("Socket closed");
            default:
                break;
        }
        if (source.isClosed()) return null; // the real read reports the closed socket
        if (outcome == SpliceLink.EOF) return EOF;
        SocketException reset = new SocketException("Connection reset");
        IOException cause = link.abortCause();
        if (cause != null) reset.initCause(cause);
        return reset;
    }

    private static long kernelBytes(SpliceLink link) {
        SplicedDirection d = link.direction();
        try {
            return d == null ? 0 : d.kernelBytes();
        } catch (RuntimeException e) {
            return 0;
        }
    }

    private static int soTimeout(Socket socket) {
        try {
            return socket.getSoTimeout();
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException | RuntimeException ignored) {
            // the read reports the interrupt
        }
    }

    private static boolean isVirtual(Thread t) {
        if (IS_VIRTUAL == null) return false;
        try {
            return (boolean) IS_VIRTUAL.invokeExact(t);
        } catch (Throwable e) {
            return false;
        }
    }

    private static MethodHandle isVirtualHandle() {
        try {
            return MethodHandles.publicLookup().findVirtual(Thread.class, "isVirtual", MethodType.methodType(boolean.class));
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null; // JDK 17: no virtual threads
        }
    }

    // ---------------------------------------------------------------- filter and helpers

    /** Milliseconds since {@code startNanos}, one decimal (no Formatter: its locale data is read from disk). */
    static String millisSince(long startNanos) {
        long tenths = (System.nanoTime() - startNanos) / 100_000;
        return tenths / 10 + "." + tenths % 10;
    }

    private boolean filterAccepts(SocketTrack source, SocketTrack target) {
        Socket s = ((TrackedSocket) source).socket();
        Socket t = ((TrackedSocket) target).socket();
        if (s == null || t == null) return false;
        boolean sourceIsA = RelayDetector.sourceIsA(source, target);
        Socket a = sourceIsA ? s : t;
        Socket b = sourceIsA ? t : s;
        return settings.filter().shouldSplice(inet(a.getLocalSocketAddress()), inet(a.getRemoteSocketAddress()),
                inet(b.getLocalSocketAddress()), inet(b.getRemoteSocketAddress()));
    }

    private static InetSocketAddress inet(SocketAddress address) {
        return address instanceof InetSocketAddress ? (InetSocketAddress) address : null;
    }

    static String describe(Socket socket) {
        try {
            return socket.getLocalSocketAddress() + "<->" + socket.getRemoteSocketAddress();
        } catch (RuntimeException e) {
            return "socket";
        }
    }

    /** For tests and diagnostics: what the detector decided about {@code socket}, or {@code null}. */
    SocketTrack track(Socket socket) {
        return registry.get(socket);
    }

    /** The pair counts, shared with the channel hooks. */
    AgentPairs pairs() {
        return registry.pairs();
    }

    /** Socket and channel pairs with a direction spliced by the agent: {total, active}. */
    long[] pairCounts() {
        return registry.pairs().counts();
    }

    /** For tests and diagnostics: directions handed to the engine and not yet released. */
    int liveDirections() {
        return registry.live().size();
    }
}
