package io.sockmap.kernel;

/** Linux errno values the project reacts to, and their symbolic names (x86_64 / generic). */
public final class Errno {
    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int EINTR = 4;
    public static final int EIO = 5;
    public static final int E2BIG = 7;
    public static final int EBADF = 9;
    public static final int EAGAIN = 11;
    public static final int ENOMEM = 12;
    public static final int EACCES = 13;
    public static final int EFAULT = 14;
    public static final int EBUSY = 16;
    public static final int EEXIST = 17;
    public static final int EINVAL = 22;
    public static final int ENOSPC = 28;
    public static final int EPIPE = 32;
    public static final int ENOSYS = 38;
    public static final int ENOTSOCK = 88;
    public static final int EOPNOTSUPP = 95;
    public static final int ENOTCONN = 107;
    public static final int ECONNRESET = 104;
    public static final int ETIMEDOUT = 110;
    public static final int ECONNREFUSED = 111;

    private Errno() {}

    /** The symbolic name of {@code errno}, e.g. {@code "EOPNOTSUPP"}, or {@code "errno 123"}. */
    public static String name(int errno) {
        switch (errno) {
            case EPERM: return "EPERM";
            case ENOENT: return "ENOENT";
            case EINTR: return "EINTR";
            case EIO: return "EIO";
            case E2BIG: return "E2BIG";
            case EBADF: return "EBADF";
            case EAGAIN: return "EAGAIN";
            case ENOMEM: return "ENOMEM";
            case EACCES: return "EACCES";
            case EFAULT: return "EFAULT";
            case EBUSY: return "EBUSY";
            case EEXIST: return "EEXIST";
            case EINVAL: return "EINVAL";
            case ENOSPC: return "ENOSPC";
            case EPIPE: return "EPIPE";
            case ENOSYS: return "ENOSYS";
            case ENOTSOCK: return "ENOTSOCK";
            case EOPNOTSUPP: return "EOPNOTSUPP";
            case ENOTCONN: return "ENOTCONN";
            case ECONNRESET: return "ECONNRESET";
            case ETIMEDOUT: return "ETIMEDOUT";
            case ECONNREFUSED: return "ECONNREFUSED";
            default: return "errno " + errno;
        }
    }
}
