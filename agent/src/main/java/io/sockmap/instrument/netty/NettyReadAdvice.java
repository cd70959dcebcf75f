package io.sockmap.instrument.netty;

import io.sockmap.bootstrap.ChannelBridge;
import net.bytebuddy.asm.Advice;
import net.bytebuddy.implementation.bytecode.assign.Assigner;

import java.nio.ByteBuffer;

/** On {@code read(ByteBuffer, int pos, int limit)} / {@code recv(...)}: bytes land at {@code [pos, pos+n)}. */
public final class NettyReadAdvice {
    private NettyReadAdvice() {}

    @Advice.OnMethodEnter(skipOn = Advice.OnNonDefaultValue.class, suppress = Throwable.class)
    public static Object enter(@Advice.This Object fd) {
        return ChannelBridge.beforeRead(fd);
    }

    @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
    public static void exit(@Advice.This Object fd,
                            @Advice.Argument(0) ByteBuffer buf,
                            @Advice.Argument(1) int pos,
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
        if (thrown == null) ChannelBridge.afterRead(fd, buf, pos, n);
    }
}
