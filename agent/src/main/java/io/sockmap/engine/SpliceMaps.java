package io.sockmap.engine;

import com.sun.jna.Pointer;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import io.sockmap.kernel.KernelException;
import io.sockmap.loader.BpfCollection;
import io.sockmap.loader.BpfMap;
import io.sockmap.loader.BpfSupport;
import io.sockmap.loader.LoaderException;
import io.sockmap.loader.MappedRegion;

/**
 * The splice program's maps, typed: {@code sm_sources} (verdict attached), {@code sm_targets}
 * (redirect targets only), {@code sm_slots} (cookie to slot) and the mmapped {@code sm_dirs}
 * array of per-direction control words and counters (layout in include/sockmap/splice_abi.h).
 *
 * <p>Userspace writes its fields of {@code sm_dirs} with plain stores into the shared mapping and
 * never with a map update, which would replace the element and lose the program's increments.
 */
final class SpliceMaps implements AutoCloseable {
    static final int DIR_SIZE = 96;
    static final int OFF_PEER_COOKIE = 0;
    static final int OFF_MODE = 8;
    static final int OFF_FORWARDED = 16;
    static final int OFF_LIMIT = 24;
    static final int OFF_REDIRECTED = 32;
    static final int OFF_PASSED = 40;
    static final int OFF_REDIRECTED_SKBS = 48;
    static final int OFF_REDIRECT_ERRORS = 56;
    static final int OFF_OVERLAP = 72;
    static final int OFF_GUARD_ERRORS = 80;
    static final int MODE_PAUSED = 0;
    static final int MODE_ARMED = 1;
    private static final long BPF_NOEXIST = 1;

    private final BpfCollection collection;
    private final BpfMap sources;
    private final BpfMap targets;
    private final BpfMap slots;
    private final MappedRegion dirs;
    private final Pointer base;
    /**
     * The same mapping as a direct buffer: the watcher reads every live direction's counters on
     * each tick, and a JNA read is a native call; an opaque read through a VarHandle is a load.
     */
    private final ByteBuffer view;
    private static final VarHandle LONGS = MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.nativeOrder());
    final int capacity;

    private SpliceMaps(BpfCollection collection, int capacity) throws KernelException {
        this.collection = collection;
        this.capacity = capacity;
        this.sources = collection.map("sm_sources");
        this.targets = collection.map("sm_targets");
        this.slots = collection.map("sm_slots");
        this.dirs = collection.map("sm_dirs").mmap();
        this.base = dirs.pointer();
        this.view = base.getByteBuffer(0, dirs.length()).order(ByteOrder.nativeOrder());
    }

    /** Loads the embedded program with room for {@code sockets} sockets and attaches it. */
    static SpliceMaps load(int sockets) throws LoaderException, KernelException {
        BpfCollection c = BpfSupport.loadSplice(sockets);
        try {
            return new SpliceMaps(c, sockets);
        } catch (KernelException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    void insertSource(long cookie, int fd) throws KernelException {
        sources.updateLongInt(cookie, fd, BPF_NOEXIST);
    }

    void insertTarget(long cookie, int fd) throws KernelException {
        targets.updateLongInt(cookie, fd, BPF_NOEXIST);
    }

    void bindSlot(long cookie, int slot) throws KernelException {
        slots.updateLongInt(cookie, slot, 0);
    }

    void unbindSlot(long cookie) {
        try {
            slots.deleteLong(cookie);
        } catch (KernelException ignored) {
            // the entry is gone either way
        }
    }

    /** Zeroes a slot and points it at {@code peerCookie}, paused. */
    void resetSlot(int slot, long peerCookie) {
        long off = (long) slot * DIR_SIZE;
        base.setMemory(off, DIR_SIZE, (byte) 0);
        base.setLong(off + OFF_PEER_COOKIE, peerCookie);
    }

    void setMode(int slot, int mode) {
        base.setInt((long) slot * DIR_SIZE + OFF_MODE, mode);
    }

    void setForwarded(int slot, long bytes) {
        base.setLong((long) slot * DIR_SIZE + OFF_FORWARDED, bytes);
    }

    void setLimit(int slot, long bytes) {
        base.setLong((long) slot * DIR_SIZE + OFF_LIMIT, bytes);
    }

    long limit(int slot) {
        return (long) LONGS.getOpaque(view, slot * DIR_SIZE + OFF_LIMIT);
    }

    long redirected(int slot) {
        return (long) LONGS.getOpaque(view, slot * DIR_SIZE + OFF_REDIRECTED);
    }

    long passed(int slot) {
        return (long) LONGS.getOpaque(view, slot * DIR_SIZE + OFF_PASSED);
    }

    /** Bytes the sequence guard removed because the kernel offered them a second time. */
    long overlap(int slot) {
        return (long) LONGS.getOpaque(view, slot * DIR_SIZE + OFF_OVERLAP);
    }

    /** Overlaps the guard could not remove (the skb was dropped): the direction must be aborted. */
    long guardErrors(int slot) {
        return (long) LONGS.getOpaque(view, slot * DIR_SIZE + OFF_GUARD_ERRORS);
    }

    /** Null when the sequence guard is attached, else why the unguarded program is. */
    String guardOff() {
        String why = collection.skipped().get(BpfSupport.VERDICT_GUARDED);
        return collection.hasProgram(BpfSupport.VERDICT_GUARDED) ? null : why == null ? "not in this build" : why;
    }

    long redirectErrors(int slot) {
        return (long) LONGS.getOpaque(view, slot * DIR_SIZE + OFF_REDIRECT_ERRORS);
    }

    /** Keys in {@code sm_sources}, {@code sm_targets} and {@code sm_slots}, counted by walking each map. */
    long[] countEntries() throws KernelException {
        return new long[] {sources.countKeys(), targets.countKeys(), slots.countKeys()};
    }

    @Override
    public void close() {
        dirs.close();
        collection.close();
    }
}
