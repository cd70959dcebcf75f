package io.sockmap.bootstrap;

import java.nio.ByteBuffer;

/**
 * The class instrumented channel code calls (NIO {@code SocketChannelImpl} in {@code java.base},
 * Netty's native socket classes in the application's loader; the bootstrap loader is visible from
 * both). References JDK types only; every method returns normally whatever the hooks do.
 */
public final class ChannelBridge {
    /** The agent's hooks, or {@code null} when the agent is not (or no longer) active. */
    public static volatile ChannelHooks hooks;

    private ChannelBridge() {}

    /** See {@link ChannelHooks#beforeRead}; {@code null} means "read normally". */
    public static Object beforeRead(Object channel) {
        ChannelHooks h = hooks;
        if (h == null) return null;
        try {
            return h.beforeRead(channel);
        } catch (Throwable t) {
            return null;
        }
    }

    /** The positions of {@code bufs[offset..offset+length)} before a scattering or gathering call, or {@code null}. */
    public static int[] positions(ByteBuffer[] bufs, int offset, int length) {
        if (hooks == null || bufs == null) return null;
        try {
            int[] p = new int[length];
            for (int i = 0; i < length; i++) p[i] = bufs[offset + i].position();
            return p;
        } catch (Throwable t) {
            return null;
        }
    }

    public static void afterRead(Object channel, ByteBuffer buf, int off, int n) {
        ChannelHooks h = hooks;
        if (h == null || n <= 0) {
            if (h != null && n < 0) eof(h, channel);
            return;
        }
        try {
            h.afterRead(channel, buf, off, n);
        } catch (Throwable ignored) {
            // never change the application's behaviour
        }
    }

    public static void afterReadAddress(Object channel, long address, int n) {
        ChannelHooks h = hooks;
        if (h == null || n <= 0) {
            if (h != null && n < 0) eof(h, channel);
            return;
        }
        try {
            h.afterReadAddress(channel, address, n);
        } catch (Throwable ignored) {
            // never change the application's behaviour
        }
    }

    public static void afterReadScatter(Object channel, ByteBuffer[] bufs, int offset, int length, int[] before, long n) {
        ChannelHooks h = hooks;
        if (h == null || before == null || n <= 0) {
            if (h != null && n < 0) eof(h, channel);
            return;
        }
        try {
            h.afterReadScatter(channel, bufs, offset, length, before, n);
        } catch (Throwable ignored) {
            // never change the application's behaviour
        }
    }

    private static void eof(ChannelHooks h, Object channel) {
        try {
            h.afterRead(channel, null, 0, -1);
        } catch (Throwable ignored) {
            // never change the application's behaviour
        }
    }

    public static void afterWrite(Object channel, ByteBuffer buf, int off, int n) {
        ChannelHooks h = hooks;
        if (h == null || n <= 0) return;
        try {
            h.afterWrite(channel, buf, off, n);
        } catch (Throwable ignored) {
            // never change the application's behaviour
        }
    }

    public static void afterWriteAddress(Object channel, long address, int n) {
        ChannelHooks h = hooks;
        if (h == null || n <= 0) return;
        try {
            h.afterWriteAddress(channel, address, n);
        } catch (Throwable ignored) {
            // never change the application's behaviour
        }
    }

    public static void afterWriteGather(Object channel, ByteBuffer[] bufs, int offset, int length, int[] before, long n) {
        ChannelHooks h = hooks;
        if (h == null || n <= 0) return;
        try {
            h.afterWriteGather(channel, bufs, offset, length, before, n);
        } catch (Throwable ignored) {
            // never change the application's behaviour
        }
    }

    public static void afterWriteIovec(Object channel, long iov, int count, long n) {
        ChannelHooks h = hooks;
        if (h == null || n <= 0) return;
        try {
            h.afterWriteIovec(channel, iov, count, n);
        } catch (Throwable ignored) {
            // never change the application's behaviour
        }
    }

    /** See {@link ChannelHooks#pollEvents}; {@code events} unchanged when the agent is off or fails. */
    public static int pollEvents(Object channel, int events) {
        ChannelHooks h = hooks;
        if (h == null) return events;
        try {
            return h.pollEvents(channel, events);
        } catch (Throwable t) {
            return events;
        }
    }

    /** See {@link ChannelHooks#epollCtl}; {@code flags} unchanged when the agent is off or fails. */
    public static int epollCtl(Class<?> nativeType, int efd, int fd, int flags) {
        ChannelHooks h = hooks;
        if (h == null) return flags;
        try {
            return h.epollCtl(nativeType, efd, fd, flags);
        } catch (Throwable t) {
            return flags;
        }
    }

    public static void epollCtlDone(int fd) {
        ChannelHooks h = hooks;
        if (h == null) return;
        try {
            h.epollCtlDone(fd);
        } catch (Throwable ignored) {
            // never change the application's behaviour
        }
    }

    public static void epollCtlDel(int efd, int fd) {
        ChannelHooks h = hooks;
        if (h == null) return;
        try {
            h.epollCtlDel(efd, fd);
        } catch (Throwable ignored) {
            // never change the application's behaviour
        }
    }

    public static void beforeClose(Object channel) {
        ChannelHooks h = hooks;
        if (h == null) return;
        try {
            h.beforeClose(channel);
        } catch (Throwable ignored) {
            // never change the application's behaviour
        }
    }

    public static void acceptedFd(int fd) {
        ChannelHooks h = hooks;
        if (h == null || fd < 0) return;
        try {
            h.acceptedFd(fd);
        } catch (Throwable ignored) {
            // never change the application's behaviour
        }
    }

    public static void accepted(Object channel) {
        ChannelHooks h = hooks;
        if (h == null) return;
        try {
            h.accepted(channel);
        } catch (Throwable ignored) {
            // never change the application's behaviour
        }
    }
}
