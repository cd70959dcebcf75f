package io.sockmap.instrument;

import io.sockmap.bootstrap.SocketBridge;
import net.bytebuddy.asm.Advice;

import java.net.Socket;

/**
 * On {@code java.net.ServerSocket.implAccept(Socket)} (what {@code accept()} and subclasses'
 * {@code accept()} call): remembers that the socket is the accepted, client side of a proxy.
 */
public final class AcceptAdvice {
    private AcceptAdvice() {}

    @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
    public static void exit(@Advice.Argument(0) Socket socket, @Advice.Thrown Throwable thrown) {
        if (thrown == null) SocketBridge.accepted(socket);
    }
}
