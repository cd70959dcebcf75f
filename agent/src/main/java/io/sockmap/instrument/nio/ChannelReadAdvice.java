package io.sockmap.instrument.nio;

import io.sockmap.bootstrap.ChannelBridge;
import net.bytebuddy.asm.Advice;
import net.bytebuddy.implementation.bytecode.assign.Assigner;

import java.nio.ByteBuffer;

/**
 * On {@code SocketChannelImpl.read(ByteBuffer)}. Enter: the bridge may answer instead of the
 * real read (a spliced source); exit: report the bytes read, which end at the buffer's position.
 */
public final class ChannelReadAdvice {
    private ChannelReadAdvice() {}

    @Advice.OnMethodEnter(skipOn = Advice.OnNonDefaultValue.class, suppress = Throwable.class)
    public static Object enter(@Advice.This Object channel) {
        return ChannelBridge.beforeRead(channel);
    }

    @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
    public static void exit(@Advice.This Object channel,
                            @Advice.Argument(0) ByteBuffer buf,
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
        if (thrown == null) ChannelBridge.afterRead(channel, buf, n > 0 ? buf.position() - n : 0, n);
    }
}
