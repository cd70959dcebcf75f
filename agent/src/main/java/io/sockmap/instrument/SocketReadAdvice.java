package io.sockmap.instrument;

import io.sockmap.bootstrap.SocketBridge;
import net.bytebuddy.asm.Advice;
import net.bytebuddy.implementation.bytecode.assign.Assigner;

import java.net.Socket;

/**
 * On {@code java.net.Socket$SocketInputStream.read(byte[], int, int)} (JDK 17, 21, 25; {@code
 * read()} and {@code InputStream.transferTo} call it). Enter: the bridge may answer instead of
 * the real read (a spliced source parks in the agent); exit: report the bytes read. Inlined into
 * {@code java.base}: references JDK types and the bridge only.
 */
public final class SocketReadAdvice {
    private SocketReadAdvice() {}

    @Advice.OnMethodEnter(skipOn = Advice.OnNonDefaultValue.class, suppress = Throwable.class)
    public static Object enter(@Advice.FieldValue("parent") Socket parent, @Advice.Argument(2) int len) {
        return SocketBridge.beforeRead(parent, len);
    }

    @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
    public static void exit(@Advice.FieldValue("parent") Socket parent,
                            @Advice.Argument(0) byte[] b,
                            @Advice.Argument(1) int off,
                            @Advice.Enter Object answer,
                            @Advice.Return(readOnly = false) int n,
                            @Advice.Thrown(readOnly = false, typing = Assigner.Typing.DYNAMIC) Throwable thrown) {
        if (answer != null) {
            if (answer instanceof Integer) {
                n = (Integer) answer;
            } else {
                thrown = (Throwable) answer;
            }
            return;
        }
        if (thrown == null) SocketBridge.afterRead(parent, b, off, n);
    }
}
