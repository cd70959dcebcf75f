package io.sockmap.instrument;

import io.sockmap.bootstrap.SocketBridge;
import net.bytebuddy.asm.Advice;

import java.net.Socket;

/**
 * On {@code java.net.Socket.close()} ({@code SocketInputStream.close()} and {@code
 * SocketOutputStream.close()} call it on JDK 17 and 25): a spliced direction is drained and
 * detached before the real close.
 */
public final class SocketCloseAdvice {
    private SocketCloseAdvice() {}

    @Advice.OnMethodEnter(suppress = Throwable.class)
    public static void enter(@Advice.This Socket socket) {
        SocketBridge.beforeClose(socket);
    }
}
