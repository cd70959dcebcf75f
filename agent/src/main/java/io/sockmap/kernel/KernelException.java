package io.sockmap.kernel;

import java.io.IOException;

/** A failed kernel call: the operation, the errno and its name, e.g. {@code "insert socket: EOPNOTSUPP"}. */
public class KernelException extends IOException {
    private static final long serialVersionUID = 1L;
    private final String operation;
    private final int errno;

    public KernelException(String operation, int errno) {
        this(operation, errno, null);
    }

    public KernelException(String operation, int errno, String detail) {
        super(operation + ": " + Errno.name(errno) + (detail == null || detail.isEmpty() ? "" : " (" + detail + ")"));
        this.operation = operation;
        this.errno = errno;
    }

    public String operation() { return operation; }

    public int errno() { return errno; }

    public String errnoName() { return Errno.name(errno); }
}
