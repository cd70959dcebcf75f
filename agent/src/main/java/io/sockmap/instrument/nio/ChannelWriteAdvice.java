package io.sockmap.instrument.nio;

import io.sockmap.bootstrap.ChannelBridge;
import net.bytebuddy.asm.Advice;

import java.nio.ByteBuffer;

/** On {@code SocketChannelImpl.write(ByteBuffer)}: reports the bytes written, which end at the buffer's position. */
public final class ChannelWriteAdvice {
    private ChannelWriteAdvice() {}

    @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
    public static void exit(@Advice.This Object channel,
                            @Advice.Argument(0) ByteBuffer buf,
                            @Advice.Return int n,
                            @Advice.Thrown Throwable thrown) {
        if (thrown == null && n > 0) ChannelBridge.afterWrite(channel, buf, buf.position() - n, n);
    }
}
