package io.sockmap.instrument.nio;

import io.sockmap.bootstrap.ChannelBridge;
import net.bytebuddy.asm.Advice;

/**
 * On {@code SocketChannelImpl.implCloseSelectableChannel()} (what {@code close()} runs, once):
 * a spliced direction is detached before the real close.
 */
public final class ChannelCloseAdvice {
    private ChannelCloseAdvice() {}

    @Advice.OnMethodEnter(suppress = Throwable.class)
    public static void enter(@Advice.This Object channel) {
        ChannelBridge.beforeClose(channel);
    }
}
