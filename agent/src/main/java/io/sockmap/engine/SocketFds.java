package io.sockmap.engine;

import java.io.FileDescriptor;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.net.Socket;
import java.net.SocketImpl;
import java.nio.channels.SocketChannel;

/**
 * The file descriptor behind a JDK socket, read by reflection (java.base must be open to this
 * module: the agent opens it itself; a library user passes {@code --add-opens java.base/java.net=ALL-UNNAMED
 * --add-opens java.base/java.io=ALL-UNNAMED --add-opens java.base/sun.nio.ch=ALL-UNNAMED}).
 * The number is only used while the engine holds the socket, so the JDK cannot close and reuse it underneath.
 */
public final class SocketFds {
    private static volatile Field socketImpl;
    private static volatile Method implFileDescriptor;
    private static volatile Field fileDescriptorFd;

    private SocketFds() {}

    /** The fd of a connected {@link Socket}, or -1 if it cannot be found. */
    public static int of(Socket socket) {
        try {
            if (socket.getChannel() != null) return of(socket.getChannel());
            if (socketImpl == null) {
                Field f = Socket.class.getDeclaredField("impl");
                f.setAccessible(true);
                Method m = SocketImpl.class.getDeclaredMethod("getFileDescriptor");
                m.setAccessible(true);
                implFileDescriptor = m;
                socketImpl = f;
            }
            Object impl = socketImpl.get(socket);
            if (impl == null) return -1;
            return of((FileDescriptor) implFileDescriptor.invoke(impl));
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
        if (fd == null) return -1;
        try {
            if (fileDescriptorFd == null) {
                Field f = FileDescriptor.class.getDeclaredField("fd");
                f.setAccessible(true);
                fileDescriptorFd = f;
            }
            return fileDescriptorFd.getInt(fd);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return -1;
        }
    }
}
