package io.sockmap.instrument;

import io.sockmap.bootstrap.SocketBridge;
import net.bytebuddy.asm.Advice;

import java.net.Socket;

/**
 * On {@code java.net.Socket$SocketOutputStream.write(byte[], int, int)} ({@code write(int)} and
 * {@code InputStream.transferTo} call it): reports a completed write.
 */
public final class SocketWriteAdvice {
    private SocketWriteAdvice() {}

    @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
    public static void exit(@Advice.FieldValue("parent") Socket parent,
                            @Advice.Argument(0) byte[] b,
                            @Advice.Argument(1) int off,
                            @Advice.Argument(2) int len,
                            @Advice.Thrown Throwable thrown) {
        if (thrown == null) SocketBridge.afterWrite(parent, b, off, len);
    }
}
