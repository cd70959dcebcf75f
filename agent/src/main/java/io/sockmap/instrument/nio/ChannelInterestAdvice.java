package io.sockmap.instrument.nio;

import io.sockmap.bootstrap.ChannelBridge;
import net.bytebuddy.asm.Advice;

/**
 * On {@code SocketChannelImpl.translateInterestOps(int)}, which a {@code Selector} calls to turn a
 * key's interest set into the poll events it registers: while the channel is the source of a
 * spliced direction, the bridge takes {@code POLLIN} out, so the kernel's wake-up at every
 * redirected segment no longer wakes the selector thread for nothing.
 */
public final class ChannelInterestAdvice {
    private ChannelInterestAdvice() {}

    @Advice.OnMethodExit(suppress = Throwable.class)
    public static void exit(@Advice.This Object channel, @Advice.Return(readOnly = false) int events) {
        events = ChannelBridge.pollEvents(channel, events);
    }
}
