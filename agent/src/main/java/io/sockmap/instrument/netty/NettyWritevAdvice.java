package io.sockmap.instrument.netty;

import io.sockmap.bootstrap.ChannelBridge;
import net.bytebuddy.asm.Advice;

import java.nio.ByteBuffer;

/** On {@code writev(ByteBuffer[] buffers, int offset, int length, long max)}: the native call leaves positions alone. */
public final class NettyWritevAdvice {
    private NettyWritevAdvice() {}

    @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
    public static void exit(@Advice.This Object fd,
                            @Advice.Argument(0) ByteBuffer[] bufs,
                            @Advice.Argument(1) int offset,
                            @Advice.Argument(2) int length,
                            @Advice.Return long n,
                            @Advice.Thrown Throwable thrown) {
        if (thrown == null && n > 0) {
            ChannelBridge.afterWriteGather(fd, bufs, offset, length, ChannelBridge.positions(bufs, offset, length), n);
        }
    }
}
