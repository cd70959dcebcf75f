package io.sockmap.instrument;

import io.sockmap.detect.RelayDetector;

/**
 * What the instrumentation needs from the agent's configuration.
 *
 * @param minBytes           bytes a direction must relay purely before it is spliced
 * @param drainTimeoutMillis how long {@code Socket.close()} waits for a live direction's bytes in
 *                           flight to reach the target's send queue before detaching it
 * @param filter             which pairs may be spliced
 * @param log                where to log
 * @param nettyEpoll         whether Netty's native epoll socket classes are instrumented too
 */
public record InstrumentSettings(long minBytes, long drainTimeoutMillis, AddressFilter filter, InstrumentLog log,
                                 boolean nettyEpoll) {
    public static final long DEFAULT_DRAIN_TIMEOUT_MILLIS = 30_000;

    public InstrumentSettings {
        if (minBytes < 1) throw new IllegalArgumentException("minBytes must be >= 1: " + minBytes);
        if (drainTimeoutMillis < 1) throw new IllegalArgumentException("drainTimeoutMillis must be >= 1: " + drainTimeoutMillis);
        if (filter == null) filter = AddressFilter.ALL;
        if (log == null) throw new IllegalArgumentException("log is required");
    }

    public InstrumentSettings(long minBytes, long drainTimeoutMillis, AddressFilter filter, InstrumentLog log) {
        this(minBytes, drainTimeoutMillis, filter, log, true);
    }

    public static InstrumentSettings defaults(InstrumentLog log) {
        return new InstrumentSettings(RelayDetector.DEFAULT_MIN_BYTES, DEFAULT_DRAIN_TIMEOUT_MILLIS, AddressFilter.ALL, log);
    }
}
