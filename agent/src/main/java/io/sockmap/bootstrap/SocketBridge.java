package io.sockmap.bootstrap;

import java.net.Socket;

/**
 * The only class instrumented {@code java.base} code calls. Loaded by the bootstrap class loader,
 * so it references JDK types only; the agent publishes its {@link SocketHooks} in {@link #hooks}.
 * Every method returns normally whatever the hooks do.
 */
public final class SocketBridge {
    /** The agent's hooks, or {@code null} when the agent is not (or no longer) active. */
    public static volatile SocketHooks hooks;

    private SocketBridge() {}

    /** See {@link SocketHooks#beforeRead}; {@code null} means "read normally". */
    public static Object beforeRead(Socket socket, int len) {
        SocketHooks h = hooks;
        if (h == null) return null;
        try {
            return h.beforeRead(socket, len);
        } catch (Throwable t) {
            return null;
        }
    }

    /** See {@link SocketHooks#hidesAvailable}; false means "ask the kernel". */
    public static boolean hidesAvailable(Socket socket) {
        SocketHooks h = hooks;
        if (h == null) return false;
        try {
            return h.hidesAvailable(socket);
        } catch (Throwable t) {
            return false;
        }
    }

    public static void afterRead(Socket socket, byte[] b, int off, int n) {
        SocketHooks h = hooks;
        if (h == null) return;
        try {
            h.afterRead(socket, b, off, n);
        } catch (Throwable ignored) {
            // never change the application's behaviour
        }
    }

    public static void afterWrite(Socket socket, byte[] b, int off, int len) {
        SocketHooks h = hooks;
        if (h == null) return;
        try {
            h.afterWrite(socket, b, off, len);
        } catch (Throwable ignored) {
            // never change the application's behaviour
        }
    }

    public static void beforeClose(Socket socket) {
        SocketHooks h = hooks;
        if (h == null) return;
        try {
            h.beforeClose(socket);
        } catch (Throwable ignored) {
            // never change the application's behaviour
        }
    }

    public static void accepted(Socket socket) {
        SocketHooks h = hooks;
        if (h == null) return;
        try {
            h.accepted(socket);
        } catch (Throwable ignored) {
            // never change the application's behaviour
        }
    }
}
