package io.sockmap.loader;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import io.sockmap.kernel.Bpf;
import io.sockmap.kernel.Errno;
import io.sockmap.kernel.KernelException;
import io.sockmap.kernel.LibC;

/**
 * A map in the kernel; owns its fd. Keys and values are native memory of the map's key and value
 * sizes ({@link Memory} arguments are checked against them). Errors name the map, e.g.
 * {@code "update map sm_sources: EOPNOTSUPP"}; after {@link #close()} every operation fails with
 * {@code EBADF}.
 */
public final class BpfMap implements AutoCloseable {
    private final MapSpec spec;
    private int fd;

    BpfMap(MapSpec spec, int fd) {
        this.spec = spec;
        this.fd = fd;
    }

    public String name() {
        return spec.name();
    }

    /** The spec the map was created with (after any max_entries override). */
    public MapSpec spec() {
        return spec;
    }

    /** {@code BPF_MAP_UPDATE_ELEM}; {@code flags} is {@link Bpf#BPF_ANY}, {@link Bpf#BPF_NOEXIST} or {@link Bpf#BPF_EXIST}. */
    public void update(Pointer key, Pointer value, long flags) throws KernelException {
        String what = "update map " + name();
        checkSize(key, spec.keySize(), "key");
        checkSize(value, spec.valueSize(), "value");
        Bpf.mapUpdate(openFd(what), key, value, flags, what);
    }

    /** {@code BPF_MAP_LOOKUP_ELEM} into {@code valueOut}; false when the key is absent. */
    public boolean lookup(Pointer key, Pointer valueOut) throws KernelException {
        String what = "lookup map " + name();
        checkSize(key, spec.keySize(), "key");
        checkSize(valueOut, spec.valueSize(), "value");
        return Bpf.mapLookup(openFd(what), key, valueOut, what);
    }

    /** {@code BPF_MAP_DELETE_ELEM}; false when the key is absent. */
    public boolean delete(Pointer key) throws KernelException {
        String what = "delete from map " + name();
        checkSize(key, spec.keySize(), "key");
        return Bpf.mapDelete(openFd(what), key, what);
    }

    /** Update with a {@code __u64} key and a {@code __u32} value (a socket cookie and an fd or slot). */
    public void updateLongInt(long key, int value, long flags) throws KernelException {
        try (Memory k = new Memory(8); Memory v = new Memory(4)) {
            k.setLong(0, key);
            v.setInt(0, value);
            update(k, v, flags);
        }
    }

    /** Delete with a {@code __u64} key; false when absent. */
    public boolean deleteLong(long key) throws KernelException {
        try (Memory k = new Memory(8)) {
            k.setLong(0, key);
            return delete(k);
        }
    }

    /**
     * The number of keys in the map, by walking it with {@code BPF_MAP_GET_NEXT_KEY} (a diagnostic:
     * entries added or removed during the walk may or may not be counted). For an array it is
     * {@code max_entries}. The walk stops after {@code 2 * max_entries} steps.
     */
    public long countKeys() throws KernelException {
        String what = "walk map " + name();
        int f = openFd(what);
        long limit = 2L * spec.maxEntries();
        try (Memory a = new Memory(Math.max(1, spec.keySize())); Memory b = new Memory(Math.max(1, spec.keySize()))) {
            Memory key = null;
            Memory next = a;
            long n = 0;
            while (n < limit && Bpf.mapGetNextKey(f, key, next, what)) {
                n++;
                key = next;
                next = next == a ? b : a;
            }
            return n;
        }
    }

    /**
     * Maps a {@code BPF_F_MMAPABLE} array read-write and shared; the length is
     * {@code roundUp(valueSize, 8) * maxEntries} rounded up to the page size.
     *
     * @throws IllegalStateException when the map is not a mmapable array
     */
    public MappedRegion mmap() throws KernelException {
        if (spec.type() != Bpf.BPF_MAP_TYPE_ARRAY || (spec.flags() & Bpf.BPF_F_MMAPABLE) == 0) {
            throw new IllegalStateException("map " + name() + " is not a BPF_F_MMAPABLE array");
        }
        String what = "mmap map " + name();
        long length = mmapLength(spec, LibC.pageSize());
        Pointer p = LibC.mmapShared(openFd(what), length, what);
        return new MappedRegion(p, length);
    }

    /** {@code BPF_PROG_ATTACH} of {@code program} to this map, e.g. {@link Bpf#BPF_SK_SKB_VERDICT} on a sockhash. */
    public void attach(BpfProgram program, int attachType) throws KernelException {
        String what = "attach " + program.name() + " to map " + name() + " (attach type " + attachType + ")";
        int progFd = program.fd();
        if (progFd < 0) throw new KernelException(what + ": program closed", Errno.EBADF);
        Bpf.progAttach(openFd(what), progFd, attachType, what);
    }

    /** The map fd, -1 once closed. */
    synchronized int fd() {
        return fd;
    }

    @Override
    public synchronized void close() {
        if (fd < 0) return;
        LibC.closeFd(fd);
        fd = -1;
    }

    @Override
    public String toString() {
        return "BpfMap[" + spec + ", fd " + fd + "]";
    }

    static long mmapLength(MapSpec spec, long pageSize) {
        long element = (spec.valueSize() + 7L) & ~7L;
        long bytes = element * spec.maxEntries();
        return (bytes + pageSize - 1) / pageSize * pageSize;
    }

    private int openFd(String what) throws KernelException {
        int f = fd();
        if (f < 0) throw new KernelException(what + ": map closed", Errno.EBADF);
        return f;
    }

    private void checkSize(Pointer p, int size, String what) {
        if (p == null) throw new NullPointerException(what + " for map " + name());
        if (p instanceof Memory m && m.size() < size) {
            throw new IllegalArgumentException(what + " for map " + name() + " is " + m.size() + " bytes, needs " + size);
        }
    }
}
