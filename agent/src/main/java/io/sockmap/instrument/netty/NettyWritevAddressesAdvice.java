package io.sockmap.instrument.netty;

import io.sockmap.bootstrap.ChannelBridge;
import net.bytebuddy.asm.Advice;

/** On {@code writevAddresses(long iovArray, int count)}: a native {@code struct iovec[count]}. */
public final class NettyWritevAddressesAdvice {
    private NettyWritevAddressesAdvice() {}

    @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
    public static void exit(@Advice.This Object fd,
                            @Advice.Argument(0) long iov,
                            @Advice.Argument(1) int count,
                            @Advice.Return long n,
                            @Advice.Thrown Throwable thrown) {
        if (thrown == null && n > 0) ChannelBridge.afterWriteIovec(fd, iov, count, n);
    }
}
