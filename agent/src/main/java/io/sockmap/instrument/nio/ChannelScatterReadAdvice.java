package io.sockmap.instrument.nio;

import io.sockmap.bootstrap.ChannelBridge;
import net.bytebuddy.asm.Advice;
import net.bytebuddy.implementation.bytecode.assign.Assigner;

import java.nio.ByteBuffer;

/** On {@code SocketChannelImpl.read(ByteBuffer[], int, int)}: as {@link ChannelReadAdvice}, buffer by buffer. */
public final class ChannelScatterReadAdvice {
    private ChannelScatterReadAdvice() {}

    @Advice.OnMethodEnter(skipOn = Advice.OnNonDefaultValue.class, suppress = Throwable.class)
    public static Object enter(@Advice.This Object channel,
                               @Advice.Argument(0) ByteBuffer[] bufs,
                               @Advice.Argument(1) int offset,
                               @Advice.Argument(2) int length,
                               @Advice.Local("before") int[] before) {
        Object answer = ChannelBridge.beforeRead(channel);
        before = answer == null ? ChannelBridge.positions(bufs, offset, length) : null;
        return answer;
    }

    @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
    public static void exit(@Advice.This Object channel,
                            @Advice.Argument(0) ByteBuffer[] bufs,
                            @Advice.Argument(1) int offset,
                            @Advice.Argument(2) int length,
                            @Advice.Local("before") int[] before,
                            @Advice.Enter Object answer,
                            @Advice.Return(readOnly = false) long n,
                            @Advice.Thrown(readOnly = false, typing = Assigner.Typing.DYNAMIC) Throwable thrown) {
        if (answer != null) {
            if (answer instanceof Integer) {
                n = (Integer) answer;
            } else {
                thrown = (Throwable) answer;
            }
            return;
        }
        if (thrown == null) ChannelBridge.afterReadScatter(channel, bufs, offset, length, before, n);
    }
}
