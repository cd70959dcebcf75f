package io.sockmap.instrument.nio;

import io.sockmap.bootstrap.ChannelBridge;
import net.bytebuddy.asm.Advice;

import java.nio.ByteBuffer;

/** On {@code SocketChannelImpl.write(ByteBuffer[], int, int)} (Netty's NIO transport flushes with it). */
public final class ChannelGatherWriteAdvice {
    private ChannelGatherWriteAdvice() {}

    @Advice.OnMethodEnter(suppress = Throwable.class)
    public static int[] enter(@Advice.Argument(0) ByteBuffer[] bufs,
                              @Advice.Argument(1) int offset,
                              @Advice.Argument(2) int length) {
        return ChannelBridge.positions(bufs, offset, length);
    }

    @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
    public static void exit(@Advice.This Object channel,
                            @Advice.Argument(0) ByteBuffer[] bufs,
                            @Advice.Argument(1) int offset,
                            @Advice.Argument(2) int length,
                            @Advice.Enter int[] before,
                            @Advice.Return long n,
                            @Advice.Thrown Throwable thrown) {
        if (thrown == null && before != null && n > 0) ChannelBridge.afterWriteGather(channel, bufs, offset, length, before, n);
    }
}
