package io.sockmap.examples;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.util.function.IntSupplier;

/** Shared helpers of the example tests. */
final class Fixtures {

    /** The proxies that relay unchanged bytes, by simple class name. */
    enum Kind { ThreadPairProxy, TransferToProxy, VirtualThreadProxy, TransformingProxy }

    private Fixtures() {
    }

    static AbstractProxy proxy(Kind kind, int targetPort) throws IOException {
        String[] args = {"--listen", "0", "--target", "127.0.0.1:" + targetPort};
        switch (kind) {
            case ThreadPairProxy: return ThreadPairProxy.launch(args);
            case TransferToProxy: return TransferToProxy.launch(args);
            case VirtualThreadProxy: return VirtualThreadProxy.launch(args);
            case TransformingProxy: return TransformingProxy.launch(args);
            default: throw new AssertionError(kind);
        }
    }

    static String target(AbstractServer server) {
        return "127.0.0.1:" + server.port();
    }

    /** Waits up to 10 s for the value to drop to zero. */
    static void awaitZero(String what, IntSupplier value) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (value.getAsInt() != 0) {
            if (System.nanoTime() > deadline) {
                fail(what + " still " + value.getAsInt() + " after 10 s");
            }
            Thread.sleep(10);
        }
    }
}
