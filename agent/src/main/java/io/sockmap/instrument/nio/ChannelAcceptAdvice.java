package io.sockmap.instrument.nio;

import io.sockmap.bootstrap.ChannelBridge;
import net.bytebuddy.asm.Advice;

/** On {@code ServerSocketChannelImpl.accept()}: the channel is the client side of a proxy. */
public final class ChannelAcceptAdvice {
    private ChannelAcceptAdvice() {}

    @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
    public static void exit(@Advice.Return Object channel, @Advice.Thrown Throwable thrown) {
        if (thrown == null && channel != null) ChannelBridge.accepted(channel);
    }
}
