package io.sockmap.loader;

import com.sun.jna.Pointer;
import io.sockmap.kernel.LibC;

/**
 * A shared mapping of a {@code BPF_F_MMAPABLE} array: element {@code i} starts at
 * {@code i * roundUp(valueSize, 8)}. Reads and writes go straight to the map the program uses.
 * {@link #close()} unmaps it; the pointer must not be used afterwards.
 */
public final class MappedRegion implements AutoCloseable {
    private final Pointer pointer;
    private final long length;
    private boolean closed;

    MappedRegion(Pointer pointer, long length) {
        this.pointer = pointer;
        this.length = length;
    }

    public Pointer pointer() {
        return pointer;
    }

    /** Mapped bytes: the array's size rounded up to the page size. */
    public long length() {
        return length;
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        LibC.munmapQuietly(pointer, length);
    }
}
