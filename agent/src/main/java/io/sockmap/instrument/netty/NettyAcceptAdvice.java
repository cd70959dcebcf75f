package io.sockmap.instrument.netty;

import io.sockmap.bootstrap.ChannelBridge;
import net.bytebuddy.asm.Advice;

/** On {@code Socket.accept(byte[])}: the returned fd is the client side of a proxy (for the stats' orientation). */
public final class NettyAcceptAdvice {
    private NettyAcceptAdvice() {}

    @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
    public static void exit(@Advice.Return int fd, @Advice.Thrown Throwable thrown) {
        if (thrown == null && fd >= 0) ChannelBridge.acceptedFd(fd);
    }
}
