package io.sockmap.instrument.channel;

import io.sockmap.engine.SocketFds;

import java.lang.reflect.Method;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.channels.SocketChannel;

/**
 * What the instrumentation reports a channel as: a JDK {@link SocketChannel}, a Netty native
 * socket ({@code io.netty.channel.unix.Socket}, possibly relocated; always non-blocking), or
 * something else (a pipe, an eventfd: ignored). The Netty methods are public and called by
 * reflection, so the agent needs no Netty on its class path.
 */
enum ChannelKind {
    NIO,
    NETTY,
    OTHER;

    private static final ClassValue<ChannelKind> KINDS = new ClassValue<>() {
        @Override
        protected ChannelKind computeValue(Class<?> type) {
            if (SocketChannel.class.isAssignableFrom(type)) return NIO;
            for (Class<?> c = type; c != null; c = c.getSuperclass()) {
                if (c.getName().endsWith("io.netty.channel.unix.Socket")) return NETTY;
            }
            return OTHER;
        }
    };

    private static final ClassValue<Method[]> NETTY_METHODS = new ClassValue<>() {
        @Override
        protected Method[] computeValue(Class<?> type) {
            try {
                return new Method[] {type.getMethod("intValue"), type.getMethod("isOpen"),
                        type.getMethod("localAddress"), type.getMethod("remoteAddress")};
            } catch (ReflectiveOperationException | RuntimeException e) {
                return null;
            }
        }
    };

    static ChannelKind of(Object channel) {
        return channel == null ? OTHER : KINDS.get(channel.getClass());
    }

    /** The file descriptor, or -1. */
    int fd(Object channel) {
        if (this == NIO) return SocketFds.of((SocketChannel) channel);
        Object v = invoke(channel, 0);
        return v instanceof Integer ? (Integer) v : -1;
    }

    boolean isOpen(Object channel) {
        if (this == NIO) return ((SocketChannel) channel).isOpen();
        return Boolean.TRUE.equals(invoke(channel, 1));
    }

    /** Whether a read blocks (a blocking {@link SocketChannel}); Netty's sockets never do. */
    boolean isBlocking(Object channel) {
        return this == NIO && ((SocketChannel) channel).isBlocking();
    }

    InetSocketAddress localAddress(Object channel) {
        try {
            if (this == NIO) return inet(((SocketChannel) channel).getLocalAddress());
        } catch (Exception e) {
            return null;
        }
        Object v = invoke(channel, 2);
        return v instanceof InetSocketAddress ? (InetSocketAddress) v : null;
    }

    InetSocketAddress remoteAddress(Object channel) {
        try {
            if (this == NIO) return inet(((SocketChannel) channel).getRemoteAddress());
        } catch (Exception e) {
            return null;
        }
        Object v = invoke(channel, 3);
        return v instanceof InetSocketAddress ? (InetSocketAddress) v : null;
    }

    private static Object invoke(Object channel, int which) {
        Method[] m = NETTY_METHODS.get(channel.getClass());
        if (m == null) return null;
        try {
            return m[which].invoke(channel);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    private static InetSocketAddress inet(SocketAddress a) {
        return a instanceof InetSocketAddress ? (InetSocketAddress) a : null;
    }
}
