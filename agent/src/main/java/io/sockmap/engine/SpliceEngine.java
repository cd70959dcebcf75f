package io.sockmap.engine;

import com.sun.jna.Memory;
import io.sockmap.kernel.Errno;
import io.sockmap.kernel.KernelException;
import io.sockmap.kernel.LibC;
import io.sockmap.loader.BpfSupport.Availability;
import io.sockmap.loader.BpfSupport;
import io.sockmap.loader.LoaderException;
import java.io.IOException;
import java.net.Socket;
import java.nio.channels.SocketChannel;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Splices TCP socket pairs in the kernel. One instance loads the program once and runs one
 * watcher thread for every pair.
 *
 * <p>Handover of a direction (source -> target), on the caller's thread:
 * <ol>
 *   <li>read the source non-blocking to EAGAIN and write all of it to the target (so no skb is
 *       left half read, KERNEL.md trap 4);</li>
 *   <li>take the target's byte baseline, bind the source's slot (paused), insert the target into
 *       {@code sm_targets} and the source into {@code sm_sources};</li>
 *   <li>kick the source with {@code SO_RCVLOWAT} so bytes queued meanwhile go through the program
 *       (trap 8), and arm: the program redirects only once every byte it passed was forwarded.</li>
 * </ol>
 * The watcher then forwards passed bytes, extends the in-flight credit as the target drains,
 * and on EOF propagates it only when the kernel's backlog for the direction is empty (trap 2).
 * The watcher subscribes to RDHUP and errors only, never to EPOLLIN on a source, so redirects
 * do not wake it (trap 5); passed bytes are noticed from the shared counters on its tick.
 */
public final class SpliceEngine implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SpliceEngine.class);
    private static final int READ_CHUNK = 256 * 1024;
    /** The watcher's tick while some direction is near its cap, passing, draining or narrowed. */
    private static final long HOT_TICK_MICROS = 200;
    private static final long TICK_MICROS = 1000;
    /**
     * With many directions the full sweep is spaced out, up to this: looking at thousands of idle
     * directions every millisecond cost a large share of a core (2,000 idle pairs: 40-60% of one
     * core with the 1 ms sweep, scripts/idle-cpu.py). Safe because a direction that starts moving
     * has a whole cap of credit (16 MiB by default, 13 ms at 10 Gbit/s) and becomes hot at its
     * first look, and EOF and errors come from epoll, not from the sweep.
     */
    private static final long MAX_FULL_TICK_MICROS = 8000;
    /** Directions the full sweep handles at its fastest rate; beyond, it slows down in proportion. */
    private static final int DIRECTIONS_PER_FULL_TICK = 256;
    private static final long SLOT_QUARANTINE_NANOS = TimeUnit.SECONDS.toNanos(1);
    /**
     * Test-only fault injection, documented in docs/RELIABILITY.md: with
     * {@code -Dsockmap.test.failWatcherAfter=N} the watcher thread fails (as if by an unexpected
     * exception) once it has registered N directions. Never set it in production.
     */
    static final long WATCHER_FAULT_AFTER = Long.getLong("sockmap.test.failWatcherAfter", 0L);

    private final EngineConfig config;
    private final SpliceMaps maps;
    private final int epollFd;
    private final int wakeFd;
    private final Thread watcher;
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    /** Set when the watcher loop has ended (closed or failed); tasks queued after that run on their caller. */
    private volatile boolean watcherStopped;
    private volatile boolean closed;

    // guarded by handoverLock
    private final Object handoverLock = new Object();
    private final ArrayDeque<Integer> freeSlots = new ArrayDeque<>();
    private final AtomicLong overlapBytesDone = new AtomicLong();
    /** The sequence guard is attached: a partly read skb at insertion is safe (see drainBeforeInsert). */
    private final boolean guarded;
    private final ArrayDeque<long[]> quarantine = new ArrayDeque<>(); // {slot, releasedAtNanos}
    private final Set<Long> sourceCookies = new java.util.HashSet<>();
    private final Map<Long, Integer> targetCookies = new HashMap<>(); // cookie -> users (stays in map until closed)

    // watcher state
    private final Map<Integer, FdWatch> watches = new HashMap<>();
    private final List<Direction> active = new ArrayList<>();
    private final Memory readBuffer = new Memory(READ_CHUNK);
    private final byte[] copyBuffer = new byte[READ_CHUNK];
    private final TcpCounters counters = new TcpCounters();
    private final List<Direction> hotDirs = new ArrayList<>(); // need a look on the next tick
    private final List<Direction> hotScratch = new ArrayList<>();
    private long nextFullTickNanos = System.nanoTime();
    private long registeredDirections; // for the test-only fault injection

    // stats
    final Set<Direction> live = ConcurrentHashMap.newKeySet();
    private final AtomicLong pairsSpliced = new AtomicLong();
    private final AtomicLong directionsSpliced = new AtomicLong();
    private final AtomicLong pauses = new AtomicLong();
    private final AtomicLong aborts = new AtomicLong();
    private final AtomicLong[] doneKernel = {new AtomicLong(), new AtomicLong()};
    private final AtomicLong[] doneUser = {new AtomicLong(), new AtomicLong()};
    private final Map<FallbackReason, AtomicLong> fallbacks = new EnumMap<>(FallbackReason.class);
    final Set<Pair> pairs = ConcurrentHashMap.newKeySet();

    /** Per-fd epoll registration: the direction it is the source of and the one it is the target of. */
    private static final class FdWatch {
        Direction asSource;
        Direction asTarget;
        int events;
    }

    private SpliceEngine(EngineConfig config, SpliceMaps maps, int epollFd, int wakeFd) {
        this.config = config;
        this.maps = maps;
        this.epollFd = epollFd;
        this.wakeFd = wakeFd;
        this.guarded = maps.guardOff() == null;
        for (FallbackReason r : FallbackReason.values()) fallbacks.put(r, new AtomicLong());
        for (int i = 0; i < maps.capacity; i++) freeSlots.add(i);
        this.watcher = new Thread(this::watchLoop, "sockmap-watcher");
        watcher.setDaemon(true);
    }

    /** Whether this machine can splice, with a one-line reason when it cannot. Never throws. */
    public static Availability probe() {
        return BpfSupport.probe();
    }

    /** Loads the program and starts the watcher; throws with a one-line reason when BPF is unavailable. */
    public static SpliceEngine open(EngineConfig config) throws EngineUnavailableException {
        Availability a;
        try {
            a = BpfSupport.probe();
        } catch (Throwable t) {
            throw new EngineUnavailableException("unavailable: " + t, t);
        }
        if (!a.available()) throw new EngineUnavailableException(a.reason(), null);
        SpliceMaps maps = null;
        int ep = -1;
        int wake = -1;
        try {
            maps = SpliceMaps.load(Math.multiplyExact(config.maxPairs(), 2));
            ep = LibC.epollCreate();
            wake = LibC.eventFd();
            LibC.epollCtl(ep, LibC.EPOLL_CTL_ADD, wake, LibC.EPOLLIN);
            SpliceEngine e = new SpliceEngine(config, maps, ep, wake);
            e.watcher.start();
            return e;
        } catch (LoaderException | KernelException | RuntimeException | Error e) {
            if (maps != null) maps.close();
            if (ep >= 0) LibC.closeFd(ep);
            if (wake >= 0) LibC.closeFd(wake);
            throw new EngineUnavailableException("unavailable: " + e.getMessage(), e);
        }
    }

    public EngineConfig config() {
        return config;
    }

    // ------------------------------------------------------------------ public API

    /** Splices both directions; the engine owns both sockets from now on (closes them when done). */
    public SplicedPair splice(Socket a, Socket b) throws SpliceRefusedException {
        return splicePair(SocketFds.of(a), SocketFds.of(b), a::close, b::close);
    }

    /** As {@link #splice(Socket, Socket)} for channels (blocking or not; the engine does its own I/O). */
    public SplicedPair splice(SocketChannel a, SocketChannel b) throws SpliceRefusedException {
        return splicePair(SocketFds.of(a), SocketFds.of(b), a::close, b::close);
    }

    /**
     * Splices one direction, source -> target, for an application that keeps its sockets. The
     * caller guarantees that no thread of the application reads the source or writes the target
     * from now on, and that every byte the application read from the source was written to the
     * target. Drains the source to EAGAIN first (forwarding to the target), then hands over.
     * Must not be called from a listener callback.
     *
     * @param aToB which way this direction counts in the stats
     */
    public SplicedDirection spliceDirection(int sourceFd, int targetFd, boolean aToB, DirectionListener listener)
            throws SpliceRefusedException {
        Direction d = handover(sourceFd, targetFd, aToB, listener);
        directionsSpliced.incrementAndGet();
        return d;
    }

    /** Counts a fallback the caller decided on (e.g. not a pure relay), for the stats. */
    public void recordFallback(FallbackReason reason) {
        fallbacks.get(reason).incrementAndGet();
    }

    /**
     * Bytes the sequence guard (bpf/splice.c) removed because the kernel offered them a second
     * time (a retransmission overlapping what was received, or the unread rest of a partly read
     * skb); without the guard the peer would have received them twice.
     */
    public long overlapBytesRemoved() {
        long n = overlapBytesDone.get();
        for (Direction d : live) {
            int slot = d.slot;
            if (slot >= 0) n += maps.overlap(slot);
        }
        return n;
    }

    /** Null when the guarded verdict program is attached, else why the unguarded one is. */
    public String sequenceGuardOff() {
        return maps.guardOff();
    }

    public EngineStats stats() {
        long[] kernel = {doneKernel[0].get(), doneKernel[1].get()};
        long[] user = {doneUser[0].get(), doneUser[1].get()};
        for (Direction d : live) {
            int i = d.aToB ? 0 : 1;
            kernel[i] += d.kernelBytesSnapshot;
            user[i] += d.userspaceBytesSnapshot;
        }
        Map<FallbackReason, Long> fb = new EnumMap<>(FallbackReason.class);
        fallbacks.forEach((k, v) -> fb.put(k, v.get()));
        long activeDirections = live.stream().filter(Direction::live).count();
        return new EngineStats(pairsSpliced.get(), pairs.size(), directionsSpliced.get(), activeDirections,
                kernel[0], kernel[1], user[0], user[1], pauses.get(), aborts.get(), fb);
    }

    /**
     * What this engine holds in the kernel now (walks its maps: a diagnostic for leak checks,
     * e.g. after a soak; not for a hot path). All zero once the engine is closed.
     */
    public MapEntries mapEntries() {
        if (closed) return new MapEntries(0, 0, 0, 0);
        long inUse;
        synchronized (handoverLock) {
            inUse = maps.capacity - freeSlots.size() - quarantine.size();
        }
        try {
            long[] n = maps.countEntries();
            return new MapEntries(n[0], n[1], n[2], inUse);
        } catch (KernelException e) {
            return new MapEntries(-1, -1, -1, inUse);
        }
    }

    /**
     * Closes every kernel object. Pairs spliced with {@link #splice} that do not complete within
     * the drain timeout are aborted. Directions spliced with {@link #spliceDirection} are handed
     * back to userspace ({@link DirectionListener#onReturned}) once the kernel holds nothing for
     * them, within {@link #SHUTDOWN_DRAIN_MILLIS} (or the drain timeout if shorter) in all;
     * those that do not drain in time are aborted. Never blocks without a bound.
     */
    @Override
    public void close() {
        if (closed) return;
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.drainTimeoutMillis());
        for (Pair p : new ArrayList<>(pairs)) {
            try {
                p.completion().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (TimeoutException | ExecutionException | InterruptedException e) {
                p.abort("engine closing");
            }
        }
        closed = true;
        returnLiveDirections();
        try {
            onWatcher(() -> {
                for (Direction d : new ArrayList<>(active)) {
                    abortOnWatcher(d, new IOException("sockmap engine closed"));
                }
                return null;
            });
        } catch (IOException ignored) {
            // watcher already gone
        }
        watcher.interrupt();
        wake();
        try {
            watcher.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (watcher.isAlive()) {
            // never free what a running watcher may still touch: leave it to the process's end
            LOG.warn("sockmap watcher did not stop; leaving its kernel objects open");
            return;
        }
        synchronized (watches) { // see detach(): no direct detach while the maps go away
            LibC.closeFd(epollFd);
            LibC.closeFd(wakeFd);
            maps.close();
            counters.close();
            readBuffer.close();
        }
    }

    // ------------------------------------------------------------------ handover

    private SplicedPair splicePair(int fdA, int fdB, Closer closeA, Closer closeB) throws SpliceRefusedException {
        Pair pair = new Pair(this, closeA, closeB);
        Direction ab = handover(fdA, fdB, true, pair.listener(true));
        Direction ba;
        try {
            ba = handover(fdB, fdA, false, pair.listener(false));
        } catch (SpliceRefusedException e) {
            // a->b is live in the kernel: hand it back to userspace by pausing it, keeping every byte
            unsplice(ab);
            throw e;
        }
        pair.start(ab, ba);
        pairs.add(pair);
        pairsSpliced.incrementAndGet();
        directionsSpliced.addAndGet(2);
        return pair;
    }

    private Direction handover(int src, int dst, boolean aToB, DirectionListener listener) throws SpliceRefusedException {
        if (closed) throw refuse(FallbackReason.ENGINE_CLOSED, "engine closed", null);
        if (!watcher.isAlive()) {
            // nothing would watch EOF or errors: never insert a socket then
            throw refuse(FallbackReason.ENGINE_CLOSED, "sockmap watcher stopped", null);
        }
        if (src < 0 || dst < 0) throw refuse(FallbackReason.NO_FD, "socket file descriptor not found", null);
        if (Thread.currentThread() == watcher) throw new IllegalStateException("spliceDirection called on the watcher thread");
        long srcCookie;
        long dstCookie;
        try (TcpCounters tc = new TcpCounters()) {
            srcCookie = TcpCounters.cookie(src);
            dstCookie = TcpCounters.cookie(dst);
            if (tc.state(src) != LibC.TCP_ESTABLISHED || tc.state(dst) != LibC.TCP_ESTABLISHED) {
                throw refuse(FallbackReason.NOT_ESTABLISHED, "socket not ESTABLISHED", null);
            }
            Direction d = new Direction(this, src, dst, srcCookie, dstCookie, aToB, listener);
            int slot;
            synchronized (handoverLock) {
                if (sourceCookies.contains(srcCookie)) throw refuse(FallbackReason.SOCKET_BUSY, "source already spliced", null);
                slot = allocSlot();
                if (slot < 0) throw refuse(FallbackReason.MAP_FULL, "map full (" + config.maxPairs() + " pairs)", null);
                sourceCookies.add(srcCookie);
            }
            boolean ok = false;
            int originalClamp = 0;
            try {
                originalClamp = LibC.getsockoptInt(src, LibC.IPPROTO_TCP, TCP_WINDOW_CLAMP, "getsockopt(TCP_WINDOW_CLAMP)");
                d.advmss = Math.max(1, tc.advertisedMss(src));
                // never under two segments: lowering the clamp also lowers the window's growth
                // threshold (rcv_ssthresh), and a window that cannot take a whole segment leaves the
                // sender waiting for its probe timer (200 ms or more) once the direction is spliced
                LibC.setsockoptInt(src, LibC.IPPROTO_TCP, TCP_WINDOW_CLAMP, Math.max(DRAIN_WINDOW_CLAMP, 2 * d.advmss),
                        "setsockopt(TCP_WINDOW_CLAMP)");
                // while spliced the window stays under an eighth of the cap: narrowing starts at half
                // the cap, so what the sender may still send then cannot carry the direction past it.
                // The socket's own clamp is kept below that: splicing usually starts before receive
                // autotuning has grown it, which keeps single streams slower than they could be, but a
                // wider window made the sender overrun the cap between watcher ticks and pass bytes
                // (kernel share 65-90% instead of 99% in the kernel tests); see the benchmark notes
                d.savedWindowClamp = (int) Math.max(Math.max(THROTTLE_WINDOW_CLAMP, 2 * d.advmss),
                        Math.min(originalClamp, config.maxInflightBytes() / 8));
                // lock the receive buffer (never below its current size, which would drop in-window
                // data): receive autotuning would otherwise raise the window clamp behind our back
                int rcvbuf = LibC.getsockoptInt(src, LibC.SOL_SOCKET, LibC.SO_RCVBUF, "getsockopt(SO_RCVBUF)");
                LibC.setsockoptInt(src, LibC.SOL_SOCKET, LibC.SO_RCVBUFFORCE, Math.max(rcvbuf / 2 + 1, d.savedWindowClamp),
                        "setsockopt(SO_RCVBUFFORCE)");
                LibC.setsockoptInt(dst, LibC.SOL_SOCKET, LibC.SO_SNDBUFFORCE,
                        (int) Math.min(Integer.MAX_VALUE, config.maxInflightBytes()), "setsockopt(SO_SNDBUFFORCE)");
                byte[] rest = drainBeforeInsert(d);
                if (TRACE) trace(d, "handover: drained " + d.preInsertBytes + ", " + rest.length + " wait for the target");
                d.baseline = tc.written(dst);
                if (rest.length > 0) {
                    d.pending = rest;
                    d.pendingLen = rest.length;
                    d.pendingForwarded = 0;
                    d.consumeAfterFlush = 0;
                }
                d.slot = slot;
                maps.resetSlot(slot, dstCookie);
                maps.setLimit(slot, config.maxInflightBytes());
                if (d.pendingLen == 0) {
                    // armed before the insert: skbs queued since the drain are redirected by the kick
                    maps.setMode(slot, SpliceMaps.MODE_ARMED);
                    d.armed = true;
                }
                maps.bindSlot(srcCookie, slot);
                synchronized (handoverLock) {
                    if (!targetCookies.containsKey(dstCookie)) {
                        insertIgnoringExisting(() -> maps.insertTarget(dstCookie, dst));
                        targetCookies.put(dstCookie, 0);
                    }
                    targetCookies.merge(dstCookie, 1, Integer::sum);
                }
                insertIgnoringExisting(() -> maps.insertSource(srcCookie, src));
                LibC.setsockoptInt(src, LibC.SOL_SOCKET, LibC.SO_RCVLOWAT, 1, "setsockopt(SO_RCVLOWAT)");
                LibC.setsockoptInt(src, LibC.IPPROTO_TCP, TCP_WINDOW_CLAMP, d.savedWindowClamp, "setsockopt(TCP_WINDOW_CLAMP)");
                d.userspaceBytesSnapshot = d.preInsertBytes;
                d.state = Direction.State.ACTIVE;
                live.add(d);
                ok = true;
            } catch (KernelException e) {
                throw refuse(reasonFor(e), e.getMessage(), e);
            } finally {
                if (!ok && d.pendingLen > 0) {
                    // bytes read from the source before the refusal still belong to the target
                    try {
                        writeFully(dst, java.util.Arrays.copyOfRange(d.pending, d.pendingOff, d.pendingOff + d.pendingLen));
                    } catch (KernelException e) {
                        LOG.debug("could not deliver handover bytes after a refusal: {}", e.getMessage());
                    }
                    d.pendingLen = 0;
                }
                if (!ok) {
                    if (originalClamp > 0) {
                        try {
                            LibC.setsockoptInt(src, LibC.IPPROTO_TCP, TCP_WINDOW_CLAMP, originalClamp, "setsockopt(TCP_WINDOW_CLAMP)");
                        } catch (KernelException ignored) {
                            // the socket is going back to userspace as it is
                        }
                    }
                    maps.unbindSlot(srcCookie);
                    synchronized (handoverLock) {
                        sourceCookies.remove(srcCookie);
                        releaseSlot(slot);
                    }
                }
            }
            // not waited for: the caller is often an application's event loop, and a round trip
            // to the watcher thread took 1.2 ms (median) to 8 ms per handover on a loaded 2-core
            // machine, during which the loop served none of its other connections. The kernel
            // already relays within the map's in-flight limit; the watcher's epoll reports the
            // socket's current state when it registers, so nothing that happens before is missed.
            // Later calls for this direction queue behind this task.
            onWatcherLater(() -> {
                try {
                    if (watcherStopped) throw new IOException("sockmap watcher stopped");
                    register(d);
                } catch (IOException | RuntimeException e) {
                    abortUnwatched(d, e);
                }
            });
            return d;
        } catch (KernelException e) {
            throw refuse(reasonFor(e), e.getMessage(), e);
        }
    }

    @FunctionalInterface
    private interface Insert {
        void run() throws KernelException;
    }

    /** A socket this engine detached earlier but that is still open stays in its map: that is fine. */
    private static void insertIgnoringExisting(Insert insert) throws KernelException {
        try {
            insert.run();
        } catch (KernelException e) {
            if (e.errno() != Errno.EEXIST) throw e;
        }
    }

    /**
     * Hands a live direction back to userspace without losing a byte: pause it (the program
     * passes new bytes to the source's own queue), wait until the kernel's backlog is sent and
     * every byte passed so far is forwarded, then detach. Bounded by the drain timeout; aborts after.
     */
    void unsplice(Direction d) {
        unsplice(d, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.drainTimeoutMillis()));
    }

    /** Longest time {@link #close()} waits for live directions to drain before aborting them. */
    static final long SHUTDOWN_DRAIN_MILLIS = 5000;

    /** In {@link #close()}: hand every live direction back to userspace, or abort it after the bound. */
    private void returnLiveDirections() {
        long deadline = System.nanoTime()
                + TimeUnit.MILLISECONDS.toNanos(Math.min(SHUTDOWN_DRAIN_MILLIS, config.drainTimeoutMillis()));
        List<Direction> live;
        try {
            live = onWatcher(() -> new ArrayList<>(active));
        } catch (IOException e) {
            return; // watcher gone: it aborted what it watched
        }
        for (Direction d : live) {
            if (!d.live()) continue;
            if (unsplice(d, deadline)) safeCall(() -> d.listener.onReturned());
        }
    }

    /** As {@link #unsplice(Direction)} with a deadline; true if the direction was handed back. */
    private boolean unsplice(Direction d, long deadline) {
        try {
            onWatcher(() -> {
                if (d.slot >= 0 && d.live()) {
                    d.stopped = true;
                    maps.setMode(d.slot, SpliceMaps.MODE_PAUSED);
                }
                return null;
            });
            long leftNanos = Math.max(0, deadline - System.nanoTime());
            if (!whenDrained(d, true, false).get(leftNanos, TimeUnit.NANOSECONDS) && d.live()) {
                abort(d, new IOException("sockmap: could not drain while returning to userspace"));
                return false;
            }
        } catch (TimeoutException e) {
            abort(d, new IOException("sockmap: drain timeout while returning to userspace"));
            return false;
        } catch (IOException | ExecutionException e) {
            abort(d, e instanceof IOException ? (IOException) e : new IOException(e.getCause()));
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            abort(d, new IOException("interrupted", e));
            return false;
        }
        boolean returned = d.live(); // else it ended meanwhile (EOF delivered or aborted): its listener was told
        detach(d);
        return returned;
    }

    /**
     * Completes once the kernel holds nothing more for {@code d} (its backlog is in the target's
     * send queue and no handover bytes are pending) with {@code true}, or once the direction ends
     * (with {@code false} if it was aborted without draining). With {@code forward}, bytes the
     * program passed are forwarded too (the direction is being handed back to userspace). The
     * watcher checks on its ticks, so a waiting thread sleeps instead of polling.
     *
     * <p>With {@code pause}, the direction stops redirecting first (the program passes what
     * arrives to the source's own queue, behind every redirected byte) and the wait starts after
     * a barrier, so no verdict run still in progress can redirect once it completed. Without the
     * pause, "drained" was only a moment between two redirects: a sender that keeps sending put
     * bytes into the target's backlog after it, and a userspace write to the target once the
     * application read the source again overtook them (the close-on-first-EOF relay test saw a
     * 16 KiB chunk of its stream arrive early at the client).
     */
    CompletableFuture<Boolean> whenDrained(Direction d, boolean forward, boolean pause) throws IOException {
        boolean fromListener = Thread.currentThread() == watcher;
        return onWatcher(() -> {
            if (!d.live()) return CompletableFuture.completedFuture(d.state != Direction.State.ABORTED || d.drained);
            if (pause && d.slot >= 0) {
                d.stopped = true;
                maps.setMode(d.slot, SpliceMaps.MODE_PAUSED);
                counters.state(d.source); // barrier: a verdict run that saw the direction armed has finished
                if (TRACE) trace(d, "paused to drain: redirected=" + maps.redirected(d.slot) + " passed=" + maps.passed(d.slot));
            }
            if (fromListener) {
                // called from a listener on the watcher: nothing could complete a future while it
                // blocks there; answer now
                return CompletableFuture.completedFuture(backlogSent(d));
            }
            if (d.drainWaiter == null) d.drainWaiter = new CompletableFuture<>();
            d.drainWaiterForwards |= forward;
            markHot(d);
            return d.drainWaiter;
        });
    }

    /** No handover bytes pending and everything the program redirected is in the target's send queue. */
    private boolean backlogSent(Direction d) throws KernelException {
        return d.pendingLen == 0 && kernelSent(d) == maps.redirected(d.slot);
    }

    /** On the watcher, from {@link #service}: completes a waiting {@link #whenDrained} when drained. */
    private void checkDrainWaiter(Direction d) throws KernelException {
        boolean drained;
        if (d.drainWaiterForwards) {
            counters.state(d.source); // barrier: no verdict run in progress on the source
            if (d.pendingLen > 0) flushPending(d);
            if (maps.passed(d.slot) > d.forwarded && d.pendingLen == 0) forwardPassed(d);
            drained = backlogSent(d) && d.forwarded >= maps.passed(d.slot);
        } else {
            drained = backlogSent(d);
        }
        if (drained) {
            CompletableFuture<Boolean> w = d.drainWaiter;
            d.drainWaiter = null;
            d.drainWaiterForwards = false;
            w.complete(true);
        } else {
            markHot(d);
        }
    }

    /**
     * Reads {@code src} until its receive queue was empty once and writes what it can to
     * {@code dst} without blocking; returns what the target did not take yet (written by the
     * watcher before the direction is armed). Blocks like a userspace relay would only when more
     * than {@link #HANDOVER_BUFFER} bytes wait for a slow target.
     *
     * <p>With the sequence guard attached (bpf/splice.c) the drain ends at the first short read:
     * the queue ran dry during that read, and whatever skb is left, even one read in part (trap 4),
     * goes through the guard, which delivers only the bytes after the socket's copied_seq. Waiting
     * for {@code EAGAIN} instead often never ends with a fast sender on loopback: each read reopens
     * the window, the ACK it sends makes the sender's softirq refill the queue before the read
     * returns (whole 64 MiB streams were drained that way: EOF during handover, the pair stayed in
     * userspace). Without the guard the drain must wait for {@code EAGAIN}, so no skb is left half
     * read, and has that weakness.
     */
    private byte[] drainBeforeInsert(Direction d) throws KernelException, SpliceRefusedException {
        java.io.ByteArrayOutputStream rest = new java.io.ByteArrayOutputStream();
        long total = 0;
        try (Memory buf = new Memory(DRAIN_CHUNK)) {
            byte[] chunk = new byte[DRAIN_CHUNK];
            while (true) {
                long n = LibC.recvNonBlocking(d.source, buf, buf.size());
                if (n < 0) break;
                if (n == 0) {
                    writeFully(d.target, rest.toByteArray());
                    throw refuse(FallbackReason.NOT_ESTABLISHED, "source reached EOF during handover", null);
                }
                boolean ranDry = n < buf.size() && guarded;
                total += n;
                long off = 0;
                if (rest.size() == 0) {
                    while (off < n) {
                        long w = LibC.sendNonBlocking(d.target, buf.share(off), n - off);
                        if (w < 0) break;
                        off += w;
                    }
                }
                if (off < n) {
                    buf.read(off, chunk, 0, (int) (n - off));
                    rest.write(chunk, 0, (int) (n - off));
                }
                if (rest.size() > HANDOVER_BUFFER) {
                    writeFully(d.target, rest.toByteArray());
                    rest.reset();
                }
                if (ranDry) break;
            }
        }
        d.preInsertBytes = total;
        return rest.toByteArray();
    }

    private static final int HANDOVER_BUFFER = 4 << 20;
    /** Four times the drain window: once the queue found at the start is read, a read comes back short. */
    private static final int DRAIN_CHUNK = 4 * SpliceEngine.DRAIN_WINDOW_CLAMP;

    /** Blocking write of everything, the way a userspace relay would wait for a slow peer. */
    private static void writeFully(int fd, byte[] bytes) throws KernelException {
        if (bytes.length == 0) return;
        try (Memory m = new Memory(bytes.length)) {
            m.write(0, bytes, 0, bytes.length);
            long off = 0;
            while (off < bytes.length) {
                long w = LibC.sendNonBlocking(fd, m.share(off), bytes.length - off);
                if (w < 0) LibC.pollWritable(fd, 1000);
                else off += w;
            }
        }
    }

    private SpliceRefusedException refuse(FallbackReason reason, String message, Throwable cause) {
        fallbacks.get(reason).incrementAndGet();
        return new SpliceRefusedException(reason, message, cause);
    }

    private static FallbackReason reasonFor(KernelException e) {
        switch (e.errno()) {
            case Errno.EOPNOTSUPP: return FallbackReason.NOT_ESTABLISHED;
            case Errno.E2BIG:
            case Errno.ENOSPC:
            case Errno.ENOMEM: return FallbackReason.MAP_FULL;
            case Errno.EBUSY:
            case Errno.EEXIST: return FallbackReason.SOCKET_BUSY;
            case Errno.EINVAL:
            case Errno.ENOTSOCK: return FallbackReason.UNSUPPORTED_SOCKET;
            default: return FallbackReason.KERNEL_ERROR;
        }
    }

    private int allocSlot() {
        long now = System.nanoTime();
        while (!quarantine.isEmpty() && now - quarantine.peekFirst()[1] > SLOT_QUARANTINE_NANOS) {
            freeSlots.add((int) quarantine.pollFirst()[0]);
        }
        Integer s = freeSlots.poll();
        return s == null ? -1 : s;
    }

    /** A freed slot is reused only after a grace period, so a verdict run still holding it cannot touch its next owner. */
    private void releaseSlot(int slot) {
        quarantine.addLast(new long[] {slot, System.nanoTime()});
    }

    // ------------------------------------------------------------------ watcher thread

    private void wake() {
        try {
            LibC.eventFdSignal(wakeFd);
        } catch (KernelException ignored) {
            // best effort
        }
    }

    /**
     * The watcher stopped after a direction was inserted: the kernel may already have redirected
     * bytes, so relaying in userspace now could reorder them; abort (both peers see an error) and
     * stop redirecting.
     */
    private void abortUnwatched(Direction d, Exception e) {
        maps.setMode(d.slot, SpliceMaps.MODE_PAUSED);
        d.state = Direction.State.ABORTED;
        d.drained = false;
        aborts.incrementAndGet();
        fallbacks.get(FallbackReason.ENGINE_CLOSED).incrementAndGet();
        LOG.warn("sockmap: aborting {}: watcher unavailable: {}", d, e.getMessage());
        d.ended.countDown();
        safeCall(() -> d.listener.onAbort(new IOException("sockmap watcher unavailable: " + e.getMessage(), e)));
    }

    /**
     * Runs {@code task} on the watcher thread without waiting for it. If the watcher has stopped
     * (or stops before it gets to the task), the task runs on this thread with
     * {@link #watcherStopped} set, so it always runs exactly once.
     */
    private void onWatcherLater(Runnable task) {
        if (Thread.currentThread() == watcher) {
            task.run();
            return;
        }
        tasks.add(task);
        wake();
        // set before the watcher's last drain of the queue: a task queued after that drain is seen here
        if (watcherStopped) runQueuedTasks();
    }

    /**
     * Runs what is queued, once the watcher has stopped: by the watcher's last drain and by any
     * caller that queued after it, one at a time (a task may touch the watcher's own state).
     */
    private void runQueuedTasks() {
        synchronized (tasks) {
            Runnable task;
            while ((task = tasks.poll()) != null) {
                try {
                    task.run();
                } catch (Throwable ignored) {
                    // each task answers for itself
                }
            }
        }
    }

    /** Runs {@code task} on the watcher thread and waits for it. */
    <T> T onWatcher(Callable<T> task) throws IOException {
        if (Thread.currentThread() == watcher) {
            try {
                return task.call();
            } catch (IOException | RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IOException(e);
            }
        }
        if (!watcher.isAlive() && watcher.getState() != Thread.State.NEW) throw new IOException("sockmap watcher stopped");
        CompletableFuture<T> f = new CompletableFuture<>();
        tasks.add(() -> {
            try {
                f.complete(task.call());
            } catch (Throwable t) {
                f.completeExceptionally(t);
            }
        });
        wake();
        if (watcherStopped) runQueuedTasks(); // as in onWatcherLater: nobody else would answer
        try {
            return f.get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException) throw (IOException) c;
            throw new IOException(c);
        } catch (TimeoutException e) {
            throw new IOException("sockmap watcher did not answer", e);
        }
    }

    private void watchLoop() {
        try (Memory events = new Memory(LibC.EPOLL_EVENT_SIZE * 256L); Memory timespec = new Memory(16)) {
            while (!Thread.currentThread().isInterrupted()) {
                Runnable t;
                while ((t = tasks.poll()) != null) t.run();
                if (WATCHER_FAULT_AFTER > 0 && registeredDirections >= WATCHER_FAULT_AFTER) {
                    throw new IllegalStateException("injected watcher fault (sockmap.test.failWatcherAfter="
                            + WATCHER_FAULT_AFTER + ")");
                }
                if (closed && active.isEmpty()) break;
                long timeout = active.isEmpty() ? -1
                        : !hotDirs.isEmpty() ? HOT_TICK_MICROS
                        : Math.max(0, Math.min(fullTickMicros(), (nextFullTickNanos - System.nanoTime()) / 1000));
                int n = LibC.epollWaitMicros(epollFd, events, 256, timeout, timespec);
                for (int i = 0; i < n; i++) {
                    int ev = events.getInt((long) i * LibC.EPOLL_EVENT_SIZE);
                    int fd = (int) events.getLong((long) i * LibC.EPOLL_EVENT_SIZE + 4);
                    if (fd == wakeFd) {
                        LibC.eventFdDrain(wakeFd);
                        continue;
                    }
                    FdWatch w = watches.get(fd);
                    if (w != null) onEvent(fd, w, ev);
                }
                tick();
            }
        } catch (Throwable t) {
            LOG.error("sockmap watcher failed; aborting spliced pairs", t);
            for (Direction d : new ArrayList<>(active)) abortOnWatcher(d, new IOException("sockmap watcher failed: " + t));
        } finally {
            watcherStopped = true;
            // answer what was queued meanwhile, so no caller waits for a watcher that is gone
            runQueuedTasks();
        }
    }

    private void register(Direction d) throws KernelException {
        FdWatch s = watches.computeIfAbsent(d.source, k -> new FdWatch());
        s.asSource = d;
        FdWatch t = watches.computeIfAbsent(d.target, k -> new FdWatch());
        t.asTarget = d;
        updateInterest(d.source, s);
        updateInterest(d.target, t);
        // Edge-triggered: if the source was already registered as the target of the opposite
        // direction, an RDHUP edge (its peer's FIN, arrived after the handover drain) may have
        // been consumed while the fd had no source role, and would never be reported again: the
        // EOF would never be propagated. EPOLL_CTL_MOD re-arms the fd and reports its current state.
        LibC.epollCtl(epollFd, LibC.EPOLL_CTL_MOD, d.source, s.events);
        active.add(d);
        registeredDirections++;
    }

    private void updateInterest(int fd, FdWatch w) throws KernelException {
        int ev = LibC.EPOLLET | LibC.EPOLLRDHUP;
        if (w.asTarget != null && w.asTarget.pendingLen > 0) ev |= LibC.EPOLLOUT;
        if (w.asSource == null && w.asTarget == null) {
            if (w.events != 0) {
                try {
                    LibC.epollCtl(epollFd, LibC.EPOLL_CTL_DEL, fd, 0);
                } catch (KernelException ignored) {
                    // already gone
                }
            }
            watches.remove(fd);
            return;
        }
        if (ev == w.events) return;
        LibC.epollCtl(epollFd, w.events == 0 ? LibC.EPOLL_CTL_ADD : LibC.EPOLL_CTL_MOD, fd, ev);
        w.events = ev;
    }

    private void unregister(Direction d) {
        FdWatch s = watches.get(d.source);
        if (s != null && s.asSource == d) s.asSource = null;
        FdWatch t = watches.get(d.target);
        if (t != null && t.asTarget == d) t.asTarget = null;
        try {
            if (s != null) updateInterest(d.source, s);
            if (t != null) updateInterest(d.target, t);
        } catch (KernelException ignored) {
            // fd already closed
        }
        active.remove(d);
    }

    private void onEvent(int fd, FdWatch w, int ev) {
        if ((ev & (LibC.EPOLLERR | LibC.EPOLLHUP)) != 0) {
            int err = 0;
            try {
                err = TcpCounters.error(fd);
            } catch (KernelException e) {
                err = e.errno();
            }
            if (err != 0) {
                IOException cause = new KernelException("socket error", err);
                if (w.asSource != null) abortOnWatcher(w.asSource, cause);
                if (w.asTarget != null) abortOnWatcher(w.asTarget, cause);
                return;
            }
        }
        if ((ev & (LibC.EPOLLRDHUP | LibC.EPOLLHUP)) != 0 && w.asSource != null && w.asSource.live()) {
            Direction d = w.asSource;
            if (!d.eofSeen) {
                d.eofSeen = true;
                d.state = Direction.State.EOF;
                d.eofDeadlineNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.drainTimeoutMillis());
            }
            markHot(d);
        }
        if ((ev & LibC.EPOLLOUT) != 0 && w.asTarget != null && w.asTarget.live()) {
            try {
                flushPending(w.asTarget);
            } catch (KernelException e) {
                abortOnWatcher(w.asTarget, e);
            }
        }
    }

    /**
     * Services the directions that need a quick look (credit running low, passed bytes, EOF, a
     * narrowed window) on every tick, and all live directions once per {@link #TICK_MICROS}: with
     * thousands of idle pairs, the fast ticks cost only what the busy ones need.
     */
    private void tick() {
        long now = System.nanoTime();
        if (now - nextFullTickNanos >= 0) {
            nextFullTickNanos = now + fullTickMicros() * 1000;
            for (Direction d : hotDirs) d.queuedHot = false;
            hotDirs.clear();
            for (int i = active.size() - 1; i >= 0; i--) {
                if (i >= active.size()) continue;
                serviceSafely(active.get(i));
            }
        } else {
            hotScratch.clear();
            hotScratch.addAll(hotDirs);
            for (Direction d : hotDirs) d.queuedHot = false;
            hotDirs.clear();
            for (Direction d : hotScratch) serviceSafely(d);
        }
    }

    /** The interval of the full sweep: {@link #TICK_MICROS}, longer with many live directions. */
    private long fullTickMicros() {
        int n = active.size();
        if (n <= DIRECTIONS_PER_FULL_TICK) return TICK_MICROS;
        return Math.min(MAX_FULL_TICK_MICROS, TICK_MICROS * n / DIRECTIONS_PER_FULL_TICK);
    }

    private void serviceSafely(Direction d) {
        if (!d.live()) return;
        try {
            service(d);
        } catch (KernelException e) {
            abortOnWatcher(d, e);
        }
    }

    /** Asks for {@code d} to be serviced on the next tick, not only on the next full one. */
    private void markHot(Direction d) {
        if (d.queuedHot) return;
        d.queuedHot = true;
        hotDirs.add(d);
    }

    /**
     * Credit, passed bytes, EOF: everything a live direction needs on each tick.
     *
     * <p>The bytes the kernel holds for a direction are its backlog (redirected, not yet in the
     * target's send queue) plus the target's unacknowledged send queue. The program may redirect
     * while that stays under the cap; the target's send buffer is sized to hold the cap, so the
     * backlog drains into it instead of waiting in the psock queue, where bytes the program
     * passes to the same socket would wait behind it, uncharged and so without TCP flow control.
     */
    private void service(Direction d) throws KernelException {
        int slot = d.slot;
        if (maps.guardErrors(slot) > 0) {
            // the program dropped an skb whose repeated head it could not remove: bytes are missing
            abortOnWatcher(d, new IOException("sockmap: the kernel offered bytes twice and the sequence guard"
                    + " could not remove them"));
            return;
        }
        long redirected = maps.redirected(slot);
        d.kernelBytesSnapshot = redirected;
        long cap = config.maxInflightBytes();
        boolean passedWaiting = maps.passed(slot) > d.forwarded || d.pendingLen > 0;
        long limit = maps.limit(slot);
        if (limit - redirected < cap * 3 / 4 || passedWaiting || d.eofSeen || d.windowNarrowed) {
            markHot(d);
            long backlog = redirected - kernelSent(d);
            long held = backlog + counters.lastOutq;
            d.inflightSnapshot = held;
            long newLimit = redirected + Math.max(0, cap - held);
            if (newLimit > limit) maps.setLimit(slot, newLimit);
            if (held > cap * 3 / 4 && d.windowNarrowed && !d.hitCap) {
                // still growing under the throttle window: the reader is slower than that too
                d.hitCap = true;
                d.windowNarrowed = false;
            }
            if (held > cap / 2) narrowWindow(d);
            else if (d.windowNarrowed && held < cap / 4 && !passedWaiting) restoreWindow(d, held);
        }
        if (passedWaiting) {
            if (d.pendingLen > 0) {
                flushPending(d);
            } else if ((d.inflightSnapshot >= forwardBelow(d, cap) && !d.eofSeen) || !forwardPassed(d)) {
                // above half the cap (an eighth for a fast reader) the passed bytes stay unread:
                // the source's buffer stays full, its window closed, and the sender waits; below
                // it they are forwarded
                if (!d.throttled) {
                    if (TRACE) trace(d, "throttled: passed=" + maps.passed(slot) + " forwarded=" + d.forwarded + " held=" + d.inflightSnapshot);
                    d.throttled = true;
                    if (d.armed && d.inflightSnapshot >= cap / 2 && !d.hitCap && !d.fastReader) {
                        d.hitCap = true;
                        if (d.windowNarrowed) {
                            d.windowNarrowed = false;
                            narrowWindow(d);
                        }
                    }
                    pauses.incrementAndGet();
                }
            }
        }
        if (d.eofSeen) finishEofIfDrained(d);
        if (d.drainWaiter != null && d.live()) checkDrainWaiter(d);
    }

    private static final int TCP_WINDOW_CLAMP = 10;
    private static final int TCP_QUICKACK = 12;
    /**
     * The source's advertised window during the handover drain, so reading to EAGAIN ends soon
     * even with a fast sender. A clamp only bounds what is advertised next; shrinking the receive
     * buffer instead would drop in-window segments, and the retransmissions that follow can
     * overlap what was received, which the verdict path (tcp_read_skb reads whole skbs) duplicates.
     */
    private static final int DRAIN_WINDOW_CLAMP = 64 * 1024;
    /**
     * The source's window clamp while the kernel holds more than half the cap for a direction
     * whose reader is not (yet) known to be fast.
     *
     * <p>Measured trade-off (docs/BENCHMARKS.md, "Single stream: what limits it"): on loopback a
     * segment is 64 KiB, so this window and {@link #SLOW_READER_WINDOW_CLAMP} cannot take one; the
     * clamp also lowers the window's growth threshold, and the sender waits for its probe timer
     * (about 200 ms) before it sends again. For a slow reader that costs nothing (it has a quarter
     * of the cap to read meanwhile) and keeps the sender from running past the cap, so no byte is
     * passed: 100% kernel share. A reader that empties that quarter much faster than the stall
     * lasts would sit idle most of the time: such a direction becomes a fast reader
     * ({@link #FAST_READER_BYTES_PER_SECOND}) and is throttled by passing alone.
     */
    private static final int THROTTLE_WINDOW_CLAMP = 64 * 1024;
    /**
     * A reader that drains the bytes the kernel holds faster than this is a fast reader: its
     * direction is throttled by passing alone, never by a narrow window (see {@link #forwardBelow}).
     */
    static final long FAST_READER_BYTES_PER_SECOND = 512L << 20;

    /**
     * Below what the kernel holds for a direction its passed bytes are forwarded (which reopens
     * the sender's window; the program redirects again after them). A direction with a fast
     * reader is not narrowed: past the cap the program passes until the source's receive buffer
     * is full (a few segments), the sender stops on the closed window, and the forward's read
     * sends the window update that resumes it at once. Forwarding only when little is held makes
     * those passed bytes a small share: one buffer per seven eighths of the cap.
     */
    private static long forwardBelow(Direction d, long cap) {
        return d.fastReader ? cap / 8 : cap / 2;
    }

    /** The throttle window once a direction has kept growing past three quarters of its cap. */
    private static final int SLOW_READER_WINDOW_CLAMP = 16 * 1024;

    /**
     * Above half the cap, the source advertises a tiny window, so the sender slows down before the
     * program runs out of credit and has to pass bytes (which costs userspace work). A clamp never
     * drops data that was already in the window.
     */
    private void narrowWindow(Direction d) {
        if (d.windowNarrowed || d.fastReader) return;
        d.narrowedAtNanos = System.nanoTime();
        d.heldAtNarrow = d.inflightSnapshot;
        try {
            // a direction that already ran into the cap has a reader slower than the sender even
            // under the throttle window: a smaller one keeps it under the cap from then on
            int clamp = d.hitCap ? SLOW_READER_WINDOW_CLAMP : THROTTLE_WINDOW_CLAMP;
            LibC.setsockoptInt(d.source, LibC.IPPROTO_TCP, TCP_WINDOW_CLAMP, clamp, "setsockopt(TCP_WINDOW_CLAMP)");
            d.windowNarrowed = true;
            if (TRACE) trace(d, "narrow window: held=" + d.inflightSnapshot);
        } catch (KernelException e) {
            LOG.debug("cannot narrow the window of {}: {}", d, e.getMessage());
        }
    }

    private void restoreWindow(Direction d, long held) {
        long elapsed = System.nanoTime() - d.narrowedAtNanos;
        if (!d.fastReader && (d.heldAtNarrow - held) * 1_000_000_000L >= FAST_READER_BYTES_PER_SECOND * Math.max(1, elapsed)) {
            // the reader emptied a quarter of the cap faster than a narrowed sender resumes (its
            // probe timer, 200 ms or more): narrowing would leave it idle most of the time
            d.fastReader = true;
            d.hitCap = false;
            // what the sender can send past the cap is passed until the receive buffer is full:
            // keep that to a few segments. Safe now: nothing waits in the queue (nothing passed
            // is unforwarded) and the narrowed window has kept what is in flight small.
            int rcvbuf = Math.max(d.advmss + d.advmss / 4, d.savedWindowClamp / 2);
            try {
                LibC.setsockoptInt(d.source, LibC.SOL_SOCKET, LibC.SO_RCVBUFFORCE, rcvbuf, "setsockopt(SO_RCVBUFFORCE)");
            } catch (KernelException e) {
                LOG.debug("cannot size the receive buffer of {}: {}", d, e.getMessage());
            }
            if (TRACE) trace(d, "fast reader: " + (d.heldAtNarrow - held) + " B in " + elapsed / 1000 + " us, rcvbuf " + rcvbuf);
        }
        // a direction whose reader was once slower than its sender gets a smaller window from then
        // on: what the sender can still send when the cap is reached between two ticks is passed
        // and costs userspace work, so the overshoot is kept to a 32nd of the cap
        int clamp = d.hitCap
                ? (int) Math.max(THROTTLE_WINDOW_CLAMP, Math.min(d.savedWindowClamp, config.maxInflightBytes() / 32))
                : d.savedWindowClamp;
        try {
            LibC.setsockoptInt(d.source, LibC.IPPROTO_TCP, TCP_WINDOW_CLAMP, clamp, "setsockopt(TCP_WINDOW_CLAMP)");
        } catch (KernelException e) {
            LOG.debug("cannot restore the window of {}: {}", d, e.getMessage());
        }
        d.windowNarrowed = false;
        try {
            // the clamp alone sends nothing: a sender held by the narrow window waits for the next
            // (delayed) ACK to learn of the wider one, and the reader may run dry meanwhile; an ACK
            // that is due anyway is sent now, carrying the new window
            LibC.setsockoptInt(d.source, LibC.IPPROTO_TCP, TCP_QUICKACK, 1, "setsockopt(TCP_QUICKACK)");
        } catch (KernelException e) {
            LOG.debug("cannot send a window update on {}: {}", d, e.getMessage());
        }
        if (TRACE) trace(d, "restore window: held=" + d.inflightSnapshot);
    }

    /** Bytes the kernel has put into the target's send queue for this direction. */
    private long kernelSent(Direction d) throws KernelException {
        long sent = counters.written(d.target) - d.baseline - d.userWritten;
        d.lastKernelSent = sent;
        return sent;
    }

    /**
     * Forwards what the program passed to the source's own queue, so that the program can
     * redirect again (it does only while forwarded == passed).
     *
     * <p>Two rules keep the order: the kernel's backlog for the direction must be empty first (a
     * byte written by userspace must not overtake redirected bytes still queued for the target's
     * kworker; while the program passes, it redirects nothing, so the backlog cannot grow); and
     * nothing may arrive between the copy and the publication of the new forwarded count, or the
     * race never ends with a sender that keeps sending. So the passed bytes are peeked, not
     * consumed: with the source's receive window narrowed and its buffer full, the sender stalls.
     * Once the count has been still for a tick, the bytes are written to the target, the count is
     * published, and only then are the peeked bytes consumed (which reopens the window; what comes
     * next is redirected).
     *
     * @return false if the backlog was not empty yet (the direction stays throttled)
     */
    private boolean forwardPassed(Direction d) throws KernelException {
        if (d.pendingLen > 0) return true;
        long passed = maps.passed(d.slot);
        long total = passed - d.forwarded;
        if (total <= 0) return true;
        if (kernelSent(d) != maps.redirected(d.slot)) return false;
        d.inflightSnapshot = 0;
        d.throttled = false;
        if (passed != d.lastPassedSeen) {
            d.lastPassedSeen = passed;
            return true;
        }
        if (total > Integer.MAX_VALUE / 2) throw new KernelException("passed bytes beyond bounds", Errno.E2BIG);
        Memory buf = total <= READ_CHUNK ? readBuffer : new Memory(total);
        try {
            long peeked = 0;
            while (peeked < total) {
                long n = LibC.recvPeekNonBlocking(d.source, buf, total);
                if (n <= 0) break;
                peeked = n;
                if (n < total) break;
            }
            if (peeked < total) return true; // part of it still waits in the psock queue
            if (TRACE) trace(d, "forward passed: forwarded=" + d.forwarded + " bytes=" + total + " redirected="
                    + maps.redirected(d.slot) + " kernelSent=" + d.lastKernelSent);
            long off = 0;
            while (off < total) {
                long w = LibC.sendNonBlocking(d.target, buf.share(off), total - off);
                if (w < 0) break;
                off += w;
            }
            d.userWritten += off;
            d.userspaceBytesSnapshot = d.preInsertBytes + d.forwarded + total;
            if (off < total) {
                int rest = (int) (total - off);
                d.pending = new byte[rest];
                buf.read(off, d.pending, 0, rest);
                d.pendingOff = 0;
                d.pendingLen = rest;
                d.pendingForwarded = passed;
                d.consumeAfterFlush = total;
                updateInterest(d.target, watches.get(d.target));
            } else {
                publishForwarded(d, passed, total);
            }
        } finally {
            if (buf != readBuffer) buf.close();
        }
        return true;
    }

    /** Lets the program redirect again, then consumes the bytes that were peeked and forwarded. */
    private void publishForwarded(Direction d, long forwarded, long consume) throws KernelException {
        d.forwarded = forwarded;
        maps.setForwarded(d.slot, forwarded);
        while (consume > 0) {
            long n = LibC.recvNonBlocking(d.source, readBuffer, Math.min(consume, READ_CHUNK));
            if (n <= 0) throw new KernelException("consume forwarded bytes", Errno.EIO);
            consume -= n;
        }
    }

    private void flushPending(Direction d) throws KernelException {
        while (d.pendingLen > 0) {
            try (Memory m = new Memory(d.pendingLen)) {
                m.write(0, d.pending, d.pendingOff, d.pendingLen);
                long w = LibC.sendNonBlocking(d.target, m, d.pendingLen);
                if (w < 0) return;
                d.userWritten += w;
                d.pendingOff += (int) w;
                d.pendingLen -= (int) w;
            }
        }
        d.pending = null;
        long consume = d.consumeAfterFlush;
        d.consumeAfterFlush = 0;
        publishForwarded(d, d.pendingForwarded, consume);
        if (!d.armed && !d.stopped) {
            // the bytes read before insertion are out: the kernel may redirect from now on
            maps.setMode(d.slot, SpliceMaps.MODE_ARMED);
            d.armed = true;
        }
        FdWatch w = watches.get(d.target);
        if (w != null) updateInterest(d.target, w);
    }

    private void finishEofIfDrained(Direction d) throws KernelException {
        counters.state(d.source); // barrier: no verdict run in progress on the source
        if (maps.passed(d.slot) > d.forwarded && d.pendingLen == 0) forwardPassed(d);
        boolean drained = backlogSent(d) && d.forwarded >= maps.passed(d.slot);
        if (drained) {
            int err = TcpCounters.error(d.target);
            if (err != 0) {
                abortOnWatcher(d, new KernelException("target socket", err));
                return;
            }
            d.kernelBytesSnapshot = maps.redirected(d.slot);
            maps.setMode(d.slot, SpliceMaps.MODE_PAUSED);
            d.state = Direction.State.DONE;
            d.drained = true;
            end(d);
            safeCall(() -> d.listener.onEof());
        } else if (System.nanoTime() > d.eofDeadlineNanos) {
            abortOnWatcher(d, new IOException("sockmap: drain timeout after EOF (" + config.drainTimeoutMillis() + " ms)"));
        }
    }

    /** On the watcher: stop the direction, tell the listener. */
    void abortOnWatcher(Direction d, IOException cause) {
        if (!d.live() && d.state != Direction.State.HANDOVER) return;
        if (d.slot >= 0) {
            maps.setMode(d.slot, SpliceMaps.MODE_PAUSED);
            d.kernelBytesSnapshot = maps.redirected(d.slot);
        }
        d.state = Direction.State.ABORTED;
        d.drained = false;
        aborts.incrementAndGet();
        LOG.info("sockmap: aborting {}: {}", d, cause.getMessage());
        end(d);
        safeCall(() -> d.listener.onAbort(cause));
    }

    private void end(Direction d) {
        unregister(d);
        d.ended.countDown();
        CompletableFuture<Boolean> w = d.drainWaiter;
        if (w != null) {
            d.drainWaiter = null;
            w.complete(d.state != Direction.State.ABORTED || d.drained);
        }
    }

    void abort(Direction d, IOException cause) {
        try {
            onWatcher(() -> {
                abortOnWatcher(d, cause);
                return null;
            });
        } catch (IOException e) {
            d.state = Direction.State.ABORTED;
        }
    }

    /** Whether every byte the kernel took from the source is in the target's send queue (asked from any thread). */
    /** Stops using the direction's fds and frees its slot; the sockets stay in the maps until closed. */
    void detach(Direction d) {
        try {
            onWatcher(() -> {
                detachOnWatcher(d);
                return null;
            });
        } catch (IOException e) {
            if (!watcher.isAlive()) {
                // no watcher to race with any more: free the slot and the engine's entries here
                synchronized (watches) {
                    if (!closed) detachOnWatcher(d);
                }
            } else {
                LOG.debug("detach: watcher did not answer", e);
            }
        }
    }

    private void detachOnWatcher(Direction d) {
        if (d.state == Direction.State.DETACHED) return;
        if (d.slot >= 0) {
            maps.setMode(d.slot, SpliceMaps.MODE_PAUSED);
            d.kernelBytesSnapshot = maps.redirected(d.slot);
        }
        if (d.live()) end(d);
        else unregister(d);
        d.state = Direction.State.DETACHED;
        int i = d.aToB ? 0 : 1;
        doneKernel[i].addAndGet(d.kernelBytesSnapshot);
        doneUser[i].addAndGet(d.userspaceBytesSnapshot);
        if (d.slot >= 0) overlapBytesDone.addAndGet(maps.overlap(d.slot));
        live.remove(d);
        maps.unbindSlot(d.sourceCookie);
        synchronized (handoverLock) {
            sourceCookies.remove(d.sourceCookie);
            targetCookies.computeIfPresent(d.targetCookie, (k, v) -> v - 1);
            if (d.slot >= 0) releaseSlot(d.slot);
        }
        d.slot = -1;
    }

    /** The sockets of a detached pair are about to be closed: forget their target entries. */
    void forgetTargets(long... cookies) {
        synchronized (handoverLock) {
            for (long c : cookies) targetCookies.remove(c);
        }
    }

    private static final boolean TRACE = Boolean.getBoolean("sockmap.trace");

    private static void trace(Direction d, String msg) {
        System.err.println("[sockmap-trace] " + System.nanoTime() / 1000 + " " + (d.aToB ? "a->b " : "b->a ") + msg);
    }

    private static void safeCall(Runnable r) {
        try {
            r.run();
        } catch (Throwable t) {
            LOG.warn("sockmap listener failed", t);
        }
    }

    @FunctionalInterface
    interface Closer {
        void close() throws IOException;
    }

    /** Thrown by {@link #open} with a one-line reason, e.g. "no CAP_BPF/CAP_NET_ADMIN (EPERM)". */
    public static final class EngineUnavailableException extends IOException {
        private static final long serialVersionUID = 1L;

        public EngineUnavailableException(String reason, Throwable cause) {
            super(reason, cause);
        }
    }
}
