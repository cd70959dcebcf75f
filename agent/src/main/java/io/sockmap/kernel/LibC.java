package io.sockmap.kernel;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;

/**
 * libc through JNA direct mapping, wrapped so that every failure becomes a {@link KernelException}
 * naming the operation. {@code EINTR} is retried here; {@code EAGAIN} is reported as a return
 * value where a caller expects it (non-blocking I/O) and as an exception elsewhere.
 *
 * <p>Constants are the x86_64/generic Linux ABI values.
 */
public final class LibC {
    public static final int SOL_SOCKET = 1;
    public static final int SO_ERROR = 4;
    public static final int SO_RCVBUF = 8;
    public static final int SO_LINGER = 13;
    public static final int SO_RCVLOWAT = 18;
    /** Like SO_SNDBUF / SO_RCVBUF, past {@code wmem_max} / {@code rmem_max} (needs CAP_NET_ADMIN). */
    public static final int SO_SNDBUFFORCE = 32;
    public static final int SO_RCVBUFFORCE = 33;
    public static final int SO_COOKIE = 57;
    public static final int IPPROTO_TCP = 6;
    public static final int TCP_INFO = 11;
    public static final int SIOCINQ = 0x541B;
    public static final int SIOCOUTQ = 0x5411;
    public static final int MSG_PEEK = 0x2;
    public static final int MSG_DONTWAIT = 0x40;
    public static final int MSG_NOSIGNAL = 0x4000;
    public static final int SHUT_RD = 0;
    public static final int SHUT_WR = 1;
    public static final int SHUT_RDWR = 2;

    public static final int EPOLL_CLOEXEC = 0x80000;
    public static final int EPOLL_CTL_ADD = 1;
    public static final int EPOLL_CTL_DEL = 2;
    public static final int EPOLL_CTL_MOD = 3;
    public static final int EPOLLIN = 0x001;
    public static final int EPOLLOUT = 0x004;
    public static final int EPOLLERR = 0x008;
    public static final int EPOLLHUP = 0x010;
    public static final int EPOLLRDHUP = 0x2000;
    public static final int EPOLLET = 1 << 31;
    /** {@code struct epoll_event} is packed on x86_64: u32 events, u64 data. */
    public static final int EPOLL_EVENT_SIZE = 12;

    public static final int EFD_CLOEXEC = 0x80000;
    public static final int EFD_NONBLOCK = 0x800;

    public static final int PROT_READ = 1;
    public static final int PROT_WRITE = 2;
    public static final int MAP_SHARED = 1;

    public static final int POLLIN = 0x001;
    public static final int POLLOUT = 0x004;

    /** {@code tcp_info} offsets (include/uapi/linux/tcp.h). */
    public static final int TCP_INFO_SIZE = 232;
    public static final int TCPI_STATE = 0;
    public static final int TCPI_ADVMSS = 84;
    public static final int TCPI_BYTES_ACKED = 120;
    public static final int TCPI_BYTES_RECEIVED = 128;
    public static final int TCP_ESTABLISHED = 1;
    public static final int TCP_CLOSE = 7;

    static {
        Native.register(LibC.class, Platform.C_LIBRARY_NAME);
    }

    private LibC() {}

    // ---- raw natives (errno via LastErrorException) ----
    private static native long syscall(long number, long a1, Pointer a2, long a3) throws LastErrorException;
    private static native int getsockopt(int fd, int level, int name, Pointer value, int[] len) throws LastErrorException;
    private static native int setsockopt(int fd, int level, int name, Pointer value, int len) throws LastErrorException;
    private static native int ioctl(int fd, long request, int[] out) throws LastErrorException;
    private static native long recv(int fd, Pointer buf, long len, int flags) throws LastErrorException;
    private static native long send(int fd, Pointer buf, long len, int flags) throws LastErrorException;
    private static native int shutdown(int fd, int how) throws LastErrorException;
    private static native int epoll_create1(int flags) throws LastErrorException;
    private static native int epoll_ctl(int epfd, int op, int fd, Pointer event) throws LastErrorException;
    private static native int epoll_wait(int epfd, Pointer events, int maxEvents, int timeoutMs) throws LastErrorException;
    private static native int epoll_pwait2(int epfd, Pointer events, int maxEvents, Pointer timeout, Pointer sigmask) throws LastErrorException;
    private static native int eventfd(int initval, int flags) throws LastErrorException;
    private static native long write(int fd, Pointer buf, long len) throws LastErrorException;
    private static native long read(int fd, Pointer buf, long len) throws LastErrorException;
    private static native int poll(Pointer fds, long nfds, int timeoutMs) throws LastErrorException;
    private static native Pointer mmap(Pointer addr, long len, int prot, int flags, int fd, long offset) throws LastErrorException;
    private static native int munmap(Pointer addr, long len) throws LastErrorException;
    private static native int close(int fd) throws LastErrorException;
    private static native long sysconf(int name) throws LastErrorException;

    /** x86_64 {@code __NR_bpf}. */
    private static final long SYS_BPF = 321;

    /**
     * {@code bpf(cmd, attr, size)}; returns the syscall's non-negative result.
     *
     * @throws KernelException naming {@code what}
     */
    public static int bpf(int cmd, Pointer attr, int size, String what) throws KernelException {
        while (true) {
            try {
                return (int) syscall(SYS_BPF, cmd, attr, size);
            } catch (LastErrorException e) {
                if (e.getErrorCode() == Errno.EINTR || e.getErrorCode() == Errno.EAGAIN && cmd == 5 /* PROG_LOAD */) {
                    continue;
                }
                throw new KernelException(what, e.getErrorCode());
            }
        }
    }

    public static int getsockoptInt(int fd, int level, int name, String what) throws KernelException {
        try (Memory m = new Memory(8)) {
            m.clear();
            int[] len = {4};
            call(() -> getsockopt(fd, level, name, m, len), what);
            return m.getInt(0);
        }
    }

    public static long getsockoptLong(int fd, int level, int name, String what) throws KernelException {
        try (Memory m = new Memory(8)) {
            m.clear();
            int[] len = {8};
            call(() -> getsockopt(fd, level, name, m, len), what);
            return m.getLong(0);
        }
    }

    /** Fills {@code out} (at least {@link #TCP_INFO_SIZE} bytes) with {@code TCP_INFO}; takes the socket lock. */
    public static void tcpInfo(int fd, Memory out) throws KernelException {
        int[] len = {(int) Math.min(out.size(), TCP_INFO_SIZE)};
        call(() -> getsockopt(fd, IPPROTO_TCP, TCP_INFO, out, len), "getsockopt(TCP_INFO)");
    }

    public static void setsockoptInt(int fd, int level, int name, int value, String what) throws KernelException {
        try (Memory m = new Memory(4)) {
            m.setInt(0, value);
            call(() -> setsockopt(fd, level, name, m, 4), what);
        }
    }

    /** {@code SO_LINGER {on, seconds}}; {@code (true, 0)} makes close() send a reset. */
    public static void setLinger(int fd, boolean on, int seconds) throws KernelException {
        try (Memory m = new Memory(8)) {
            m.setInt(0, on ? 1 : 0);
            m.setInt(4, seconds);
            call(() -> setsockopt(fd, SOL_SOCKET, SO_LINGER, m, 8), "setsockopt(SO_LINGER)");
        }
    }

    public static int ioctlInt(int fd, int request, String what) throws KernelException {
        int[] out = {0};
        call(() -> ioctl(fd, request, out), what);
        return out[0];
    }

    /** Non-blocking receive: bytes read, 0 at EOF, -1 when nothing is queued ({@code EAGAIN}). */
    public static long recvNonBlocking(int fd, Pointer buf, long len) throws KernelException {
        while (true) {
            try {
                return recv(fd, buf, len, MSG_DONTWAIT);
            } catch (LastErrorException e) {
                if (e.getErrorCode() == Errno.EINTR) continue;
                if (e.getErrorCode() == Errno.EAGAIN) return -1;
                throw new KernelException("recv", e.getErrorCode());
            }
        }
    }

    /** Non-blocking peek: bytes copied without consuming them, 0 at EOF, -1 when nothing is queued. */
    public static long recvPeekNonBlocking(int fd, Pointer buf, long len) throws KernelException {
        while (true) {
            try {
                return recv(fd, buf, len, MSG_DONTWAIT | MSG_PEEK);
            } catch (LastErrorException e) {
                if (e.getErrorCode() == Errno.EINTR) continue;
                if (e.getErrorCode() == Errno.EAGAIN) return -1;
                throw new KernelException("recv(MSG_PEEK)", e.getErrorCode());
            }
        }
    }

    /** Non-blocking send: bytes written, or -1 when the send buffer is full ({@code EAGAIN}). */
    public static long sendNonBlocking(int fd, Pointer buf, long len) throws KernelException {
        while (true) {
            try {
                return send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
            } catch (LastErrorException e) {
                if (e.getErrorCode() == Errno.EINTR) continue;
                if (e.getErrorCode() == Errno.EAGAIN) return -1;
                throw new KernelException("send", e.getErrorCode());
            }
        }
    }

    public static void shutdownSocket(int fd, int how) throws KernelException {
        call(() -> shutdown(fd, how), "shutdown");
    }

    public static int epollCreate() throws KernelException {
        return call(() -> epoll_create1(EPOLL_CLOEXEC), "epoll_create1");
    }

    /** {@code epoll_ctl} with the fd itself as the event's data. */
    public static void epollCtl(int epfd, int op, int fd, int events) throws KernelException {
        try (Memory ev = new Memory(EPOLL_EVENT_SIZE)) {
            ev.setInt(0, events);
            ev.setLong(4, fd);
            call(() -> epoll_ctl(epfd, op, fd, ev), "epoll_ctl");
        }
    }

    /** {@code epoll_wait}; 0 on timeout or {@code EINTR}. */
    public static int epollWait(int epfd, Pointer events, int maxEvents, int timeoutMs) throws KernelException {
        try {
            return epoll_wait(epfd, events, maxEvents, timeoutMs);
        } catch (LastErrorException e) {
            if (e.getErrorCode() == Errno.EINTR) return 0;
            throw new KernelException("epoll_wait", e.getErrorCode());
        }
    }

    /**
     * {@code epoll_pwait2} with a timeout in microseconds (negative: wait forever); 0 on timeout
     * or {@code EINTR}. {@code timespec} is 16 bytes of scratch memory owned by the caller.
     */
    public static int epollWaitMicros(int epfd, Pointer events, int maxEvents, long timeoutMicros, Pointer timespec)
            throws KernelException {
        Pointer ts = null;
        if (timeoutMicros >= 0) {
            timespec.setLong(0, timeoutMicros / 1_000_000);
            timespec.setLong(8, (timeoutMicros % 1_000_000) * 1000);
            ts = timespec;
        }
        try {
            return epoll_pwait2(epfd, events, maxEvents, ts, null);
        } catch (LastErrorException e) {
            if (e.getErrorCode() == Errno.EINTR) return 0;
            throw new KernelException("epoll_pwait2", e.getErrorCode());
        }
    }

    public static int eventFd() throws KernelException {
        return call(() -> eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), "eventfd");
    }

    /** Adds one to an eventfd counter (wakes an epoll waiting on it). */
    public static void eventFdSignal(int fd) throws KernelException {
        try (Memory m = new Memory(8)) {
            m.setLong(0, 1);
            try {
                write(fd, m, 8);
            } catch (LastErrorException e) {
                if (e.getErrorCode() != Errno.EAGAIN) throw new KernelException("eventfd write", e.getErrorCode());
            }
        }
    }

    /** Resets an eventfd counter. */
    public static void eventFdDrain(int fd) {
        try (Memory m = new Memory(8)) {
            read(fd, m, 8);
        } catch (LastErrorException ignored) {
            // EAGAIN: nothing to drain
        }
    }

    /** Waits until {@code fd} is writable or {@code timeoutMs} passes; true when writable. */
    public static boolean pollWritable(int fd, int timeoutMs) throws KernelException {
        try (Memory p = new Memory(8)) {
            p.setInt(0, fd);
            p.setShort(4, (short) POLLOUT);
            p.setShort(6, (short) 0);
            int n = call(() -> poll(p, 1, timeoutMs), "poll");
            return n > 0;
        }
    }

    public static Pointer mmapShared(int fd, long length, String what) throws KernelException {
        try {
            return mmap(null, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        } catch (LastErrorException e) {
            throw new KernelException(what, e.getErrorCode());
        }
    }

    /** {@code sysconf(_SC_PAGESIZE)}: the unit of {@code mmap} lengths (4 KiB on x86_64, more on some arm64). */
    public static long pageSize() {
        return sysconf(SC_PAGESIZE);
    }

    private static final int SC_PAGESIZE = 30;

    public static void munmapQuietly(Pointer addr, long length) {
        try {
            munmap(addr, length);
        } catch (LastErrorException ignored) {
            // nothing sensible to do
        }
    }

    /** Closes an fd this project created (never one owned by the JDK). */
    public static void closeFd(int fd) {
        try {
            close(fd);
        } catch (LastErrorException ignored) {
            // EBADF/EINTR on close: the fd is gone either way
        }
    }

    @FunctionalInterface
    private interface IntCall {
        int run() throws LastErrorException;
    }

    private static int call(IntCall c, String what) throws KernelException {
        while (true) {
            try {
                return c.run();
            } catch (LastErrorException e) {
                if (e.getErrorCode() == Errno.EINTR) continue;
                throw new KernelException(what, e.getErrorCode());
            }
        }
    }
}
