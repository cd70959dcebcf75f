package io.sockmap.loader;

import io.sockmap.kernel.LibC;

/** A program loaded into the kernel; owns its fd. Attached copies stay in the kernel after close. */
public final class BpfProgram implements AutoCloseable {
    private final ProgramSpec spec;
    private int fd;

    BpfProgram(ProgramSpec spec, int fd) {
        this.spec = spec;
        this.fd = fd;
    }

    public String name() {
        return spec.name();
    }

    public ProgramSpec spec() {
        return spec;
    }

    /** The program fd, -1 once closed. */
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
        return "BpfProgram[" + name() + ", fd " + fd + "]";
    }
}
