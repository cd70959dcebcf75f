package io.sockmap.engine;

/** Why a pair or direction stays in userspace. */
public enum FallbackReason {
    /** The engine could not load (no privileges, old kernel, ...). */
    UNAVAILABLE,
    /** A socket was not ESTABLISHED (EOPNOTSUPP). */
    NOT_ESTABLISHED,
    /** The map holds its maximum number of sockets (E2BIG or our own count). */
    MAP_FULL,
    /** A socket is already in a map with a verdict, possibly another program's (EBUSY). */
    SOCKET_BUSY,
    /** The kernel refused this kind of socket (MPTCP, kTLS, not TCP). */
    UNSUPPORTED_SOCKET,
    /** The socket's file descriptor could not be found. */
    NO_FD,
    /** The engine is closed. */
    ENGINE_CLOSED,
    /** Any other kernel error. */
    KERNEL_ERROR
}
