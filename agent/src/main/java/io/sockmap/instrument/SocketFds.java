package io.sockmap.instrument;

import java.io.FileDescriptor;
import java.lang.reflect.Field;
import java.net.Socket;
import java.net.SocketImpl;

/**
 * The file descriptor number behind a {@link Socket}: {@code Socket.impl} (a {@code NioSocketImpl},
 * or on the client side a {@code SocksSocketImpl}/{@code HttpConnectSocketImpl} that delegates to
 * one through {@code DelegatingSocketImpl.delegate}) -> {@code SocketImpl.fd} -> {@code
 * FileDescriptor.fd}. Needs {@code java.net} and {@code java.io} opened to this module (JDK 17,
 * 21 and 25 use the same field names).
 */
final class SocketFds {
    private static final Field SOCKET_IMPL;
    private static final Field IMPL_FD;
    private static final Field DELEGATE;
    private static final Field FD_INT;
    private static final Throwable FAILURE;

    static {
        Field impl = null, implFd = null, delegate = null, fdInt = null;
        Throwable failure = null;
        try {
            impl = Socket.class.getDeclaredField("impl");
            impl.setAccessible(true);
            implFd = SocketImpl.class.getDeclaredField("fd");
            implFd.setAccessible(true);
            fdInt = FileDescriptor.class.getDeclaredField("fd");
            fdInt.setAccessible(true);
            delegate = Class.forName("java.net.DelegatingSocketImpl").getDeclaredField("delegate");
            delegate.setAccessible(true);
        } catch (Throwable t) {
            failure = t;
        }
        SOCKET_IMPL = impl;
        IMPL_FD = implFd;
        DELEGATE = delegate;
        FD_INT = fdInt;
        FAILURE = failure;
    }

    private SocketFds() {}

    /** Null when the fields are reachable, else why not (for one log line). */
    static Throwable unavailableBecause() { return FAILURE; }

    /** The fd number, or -1 if it cannot be found (closed socket, custom SocketImpl, no access). */
    static int fdOf(Socket socket) {
        if (FAILURE != null) return -1;
        try {
            Object impl = SOCKET_IMPL.get(socket);
            for (int depth = 0; impl != null && depth < 4; depth++) {
                if (DELEGATE.getDeclaringClass().isInstance(impl)) {
                    impl = DELEGATE.get(impl);
                    continue;
                }
                FileDescriptor fd = (FileDescriptor) IMPL_FD.get(impl);
                if (fd == null) return -1;
                return FD_INT.getInt(fd);
            }
            return -1;
        } catch (Throwable t) {
            return -1;
        }
    }
}
