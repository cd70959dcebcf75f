package io.sockmap.instrument.netty;

import io.sockmap.bootstrap.ChannelBridge;
import net.bytebuddy.asm.Advice;

/** On {@code FileDescriptor.close()}: a spliced direction is detached before the real close. */
public final class NettyCloseAdvice {
    private NettyCloseAdvice() {}

    @Advice.OnMethodEnter(suppress = Throwable.class)
    public static void enter(@Advice.This Object fd) {
        ChannelBridge.beforeClose(fd);
    }
}
