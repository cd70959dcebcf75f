package io.sockmap.instrument.netty;

import io.sockmap.bootstrap.ChannelBridge;
import net.bytebuddy.asm.Advice;
import net.bytebuddy.implementation.bytecode.assign.Assigner;

/** On {@code readAddress(long address, int pos, int limit)} / {@code recvAddress(...)}: bytes land at {@code address + pos}. */
public final class NettyReadAddressAdvice {
    private NettyReadAddressAdvice() {}

    @Advice.OnMethodEnter(skipOn = Advice.OnNonDefaultValue.class, suppress = Throwable.class)
    public static Object enter(@Advice.This Object fd) {
        return ChannelBridge.beforeRead(fd);
    }

    @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
    public static void exit(@Advice.This Object fd,
                            @Advice.Argument(0) long address,
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
        if (thrown == null) ChannelBridge.afterReadAddress(fd, address + pos, n);
    }
}
