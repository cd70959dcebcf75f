package io.sockmap.instrument.netty;

import io.sockmap.bootstrap.ChannelBridge;
import net.bytebuddy.asm.Advice;

import java.nio.ByteBuffer;

/** On {@code write(ByteBuffer, int pos, int limit)} / {@code send(...)}: bytes {@code [pos, pos+n)} were written. */
public final class NettyWriteAdvice {
    private NettyWriteAdvice() {}

    @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
    public static void exit(@Advice.This Object fd,
                            @Advice.Argument(0) ByteBuffer buf,
                            @Advice.Argument(1) int pos,
                            @Advice.Return int n,
                            @Advice.Thrown Throwable thrown) {
        if (thrown == null && n > 0) ChannelBridge.afterWrite(fd, buf, pos, n);
    }
}
