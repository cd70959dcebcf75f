package io.sockmap.engine;

import java.io.FileDescriptor;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.net.Socket;
import java.net.SocketImpl;
import java.nio.channels.SocketChannel;

/**
 * The file descriptor behind a JDK socket, read by reflection: {@code Socket.impl} ->
 * {@code SocketImpl.getFileDescriptor()} (a {@code SocksSocketImpl} delegates it to its
 * {@code NioSocketImpl}) -> {@code FileDescriptor.fd}; for a channel, {@code getFDVal()}. JDK 17,
 * 21 and 25 use the same names. java.base must be open to this module: the agent opens it itself;
 * a library user passes {@code --add-opens java.base/java.net=ALL-UNNAMED --add-opens
 * java.base/java.io=ALL-UNNAMED --add-opens java.base/sun.nio.ch=ALL-UNNAMED}.
 * The number is only used while the socket is spliced, so the JDK cannot close and reuse it underneath.
 */
public final class SocketFds {
    private static final Field SOCKET_IMPL;
    private static final Method IMPL_FILE_DESCRIPTOR;
    private static final Field FD_INT;
    private static final Throwable FAILURE;

    static {
        Field impl = null;
        Method implFd = null;
        Field fdInt = null;
        Throwable failure = null;
        try {
            impl = Socket.class.getDeclaredField("impl");
            impl.setAccessible(true);
            implFd = SocketImpl.class.getDeclaredMethod("getFileDescriptor");
            implFd.setAccessible(true);
            fdInt = FileDescriptor.class.getDeclaredField("fd");
            fdInt.setAccessible(true);
        } catch (Throwable t) {
            failure = t;
        }
        SOCKET_IMPL = impl;
        IMPL_FILE_DESCRIPTOR = implFd;
        FD_INT = fdInt;
        FAILURE = failure;
    }

    private SocketFds() {}

    /** Null when socket fds can be read, else why not (for one log line). */
    public static Throwable unavailableBecause() {
        return FAILURE;
    }

    /** The fd of a connected {@link Socket}, or -1 if it cannot be found. */
    public static int of(Socket socket) {
        try {
            if (socket.getChannel() != null) return of(socket.getChannel());
            if (FAILURE != null) return -1;
            Object impl = SOCKET_IMPL.get(socket);
            if (impl == null) return -1;
            return of((FileDescriptor) IMPL_FILE_DESCRIPTOR.invoke(impl));
        } catch (ReflectiveOperationException | RuntimeException e) {
            return -1;
        }
    }

    /** The fd of a {@link SocketChannel}, or -1 if it cannot be found. */
    public static int of(SocketChannel channel) {
        try {
            Method m = channel.getClass().getDeclaredMethod("getFDVal");
            m.setAccessible(true);
            return (Integer) m.invoke(channel);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return -1;
        }
    }

    /** The int inside a {@link FileDescriptor}, or -1. */
    public static int of(FileDescriptor fd) {
        if (fd == null || FAILURE != null) return -1;
        try {
            return FD_INT.getInt(fd);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return -1;
        }
    }
}
