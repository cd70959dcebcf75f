package io.sockmap.instrument;

import io.sockmap.bootstrap.SocketBridge;
import net.bytebuddy.asm.Advice;

import java.net.Socket;

/**
 * On {@code java.net.Socket$SocketInputStream.available()}: answers 0 without asking the kernel
 * when the bridge says so (a spliced source, or one about to be handed over; see
 * {@link io.sockmap.bootstrap.SocketHooks#hidesAvailable}). 0 is always a valid estimate.
 */
public final class SocketAvailableAdvice {
    private SocketAvailableAdvice() {}

    @Advice.OnMethodEnter(skipOn = Advice.OnNonDefaultValue.class, suppress = Throwable.class)
    public static boolean enter(@Advice.FieldValue("parent") Socket parent) {
        return SocketBridge.hidesAvailable(parent);
    }

    @Advice.OnMethodExit(suppress = Throwable.class)
    public static void exit(@Advice.Enter boolean hidden, @Advice.Return(readOnly = false) int available) {
        if (hidden) available = 0;
    }
}
