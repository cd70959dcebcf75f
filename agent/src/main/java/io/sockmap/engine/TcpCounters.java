package io.sockmap.engine;

import com.sun.jna.Memory;
import io.sockmap.kernel.KernelException;
import io.sockmap.kernel.LibC;

/**
 * Reads what the kernel knows about a TCP socket: bytes written into it so far
 * ({@code tcpi_bytes_acked + SIOCOUTQ}, read until stable), its state, its pending error.
 * {@code TCP_INFO} takes the socket lock, so reading it is also a barrier against a verdict run
 * in progress on that socket. One instance per thread (it owns a scratch buffer).
 */
final class TcpCounters implements AutoCloseable {
    private final Memory info = new Memory(LibC.TCP_INFO_SIZE);
    /** The send queue (written, not yet acknowledged) seen by the last {@link #written} call. */
    long lastOutq;

    /** Total bytes the application side has written into {@code fd} since it was connected. */
    long written(int fd) throws KernelException {
        long acked = acked(fd);
        while (true) {
            long outq = LibC.ioctlInt(fd, LibC.SIOCOUTQ, "ioctl(SIOCOUTQ)") & 0xffffffffL;
            long again = acked(fd);
            if (again == acked) {
                lastOutq = outq;
                return acked + outq;
            }
            acked = again;
        }
    }

    /** {@code tcpi_state}; also a barrier (takes the socket lock). */
    int state(int fd) throws KernelException {
        info.clear();
        LibC.tcpInfo(fd, info);
        return info.getByte(LibC.TCPI_STATE) & 0xff;
    }

    /** {@code tcpi_advmss}: the largest segment this socket told its peer to send. */
    int advertisedMss(int fd) throws KernelException {
        info.clear();
        LibC.tcpInfo(fd, info);
        return info.getInt(LibC.TCPI_ADVMSS);
    }

    /** The pending socket error ({@code SO_ERROR}, which also clears it), 0 if none. */
    static int error(int fd) throws KernelException {
        return LibC.getsockoptInt(fd, LibC.SOL_SOCKET, LibC.SO_ERROR, "getsockopt(SO_ERROR)");
    }

    static long cookie(int fd) throws KernelException {
        return LibC.getsockoptLong(fd, LibC.SOL_SOCKET, LibC.SO_COOKIE, "getsockopt(SO_COOKIE)");
    }

    private long acked(int fd) throws KernelException {
        info.clear();
        LibC.tcpInfo(fd, info);
        return info.getLong(LibC.TCPI_BYTES_ACKED);
    }

    @Override
    public void close() {
        info.close();
    }
}
