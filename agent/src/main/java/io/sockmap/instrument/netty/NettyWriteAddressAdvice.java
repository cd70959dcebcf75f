package io.sockmap.instrument.netty;

import io.sockmap.bootstrap.ChannelBridge;
import net.bytebuddy.asm.Advice;

/** On {@code writeAddress(long address, int pos, int limit)} / {@code sendAddress(...)}. */
public final class NettyWriteAddressAdvice {
    private NettyWriteAddressAdvice() {}

    @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
    public static void exit(@Advice.This Object fd,
                            @Advice.Argument(0) long address,
                            @Advice.Argument(1) int pos,
                            @Advice.Return int n,
                            @Advice.Thrown Throwable thrown) {
        if (thrown == null && n > 0) ChannelBridge.afterWriteAddress(fd, address + pos, n);
    }
}
