package io.sockmap.instrument.netty;

import io.sockmap.bootstrap.ChannelBridge;
import net.bytebuddy.asm.Advice;

/** On {@code io.netty.channel.epoll.Native.epollCtlDel(int efd, int fd)}: the registration is forgotten. */
public final class NettyEpollCtlDelAdvice {
    private NettyEpollCtlDelAdvice() {}

    @Advice.OnMethodEnter(suppress = Throwable.class)
    public static void enter(@Advice.Argument(0) int efd, @Advice.Argument(1) int fd) {
        ChannelBridge.epollCtlDel(efd, fd);
    }
}
