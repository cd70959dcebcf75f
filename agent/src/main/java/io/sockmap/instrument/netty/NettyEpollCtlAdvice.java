package io.sockmap.instrument.netty;

import io.sockmap.bootstrap.ChannelBridge;
import net.bytebuddy.asm.Advice;

/**
 * On {@code io.netty.channel.epoll.Native.epollCtlAdd/epollCtlMod(int efd, int fd, int flags)}:
 * the bridge records the registration and may take {@code EPOLLIN} out of {@code flags} (a
 * spliced source); the registration stays locked until the real call returned, so the agent's own
 * re-registration never interleaves with the event loop's.
 */
public final class NettyEpollCtlAdvice {
    private NettyEpollCtlAdvice() {}

    @Advice.OnMethodEnter(suppress = Throwable.class)
    public static void enter(@Advice.Origin Class<?> nativeType,
                             @Advice.Argument(0) int efd,
                             @Advice.Argument(1) int fd,
                             @Advice.Argument(value = 2, readOnly = false) int flags) {
        flags = ChannelBridge.epollCtl(nativeType, efd, fd, flags);
    }

    @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
    public static void exit(@Advice.Argument(1) int fd) {
        ChannelBridge.epollCtlDone(fd);
    }
}
