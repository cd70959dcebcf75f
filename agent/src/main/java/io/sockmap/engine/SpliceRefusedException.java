package io.sockmap.engine;

import java.io.IOException;

/** The kernel (or the engine) refused to splice; the caller keeps relaying in userspace. */
public final class SpliceRefusedException extends IOException {
    private static final long serialVersionUID = 1L;
    private final FallbackReason reason;

    public SpliceRefusedException(FallbackReason reason, String message, Throwable cause) {
        super(reason + ": " + message, cause);
        this.reason = reason;
    }

    public FallbackReason reason() { return reason; }
}
