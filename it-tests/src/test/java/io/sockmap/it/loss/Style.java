package io.sockmap.it.loss;

import java.util.Random;

/**
 * How one connection of the packet-loss harness moves its bytes. The sizes of every write (and,
 * for {@link #RR}, of every request and response) come from a {@link Random} seeded with the
 * connection's seed, so the client and the backend agree on them without telling each other.
 */
enum Style {
    /** Both directions at once, 64 KiB writes, a few MiB each way: full-sized segments. */
    BULK,
    /** Both directions at once, TCP_NODELAY, writes of 1 to 1,448 bytes: many small segments, which retransmission collapses. */
    SMALL,
    /** TCP_NODELAY ping-pong: a request of 64 B - 4 KiB, then a response of 64 B - 16 KiB, repeated. */
    RR;

    /** Bytes of the next write of a streaming style. */
    int nextWrite(Random r) {
        return this == SMALL ? 1 + r.nextInt(1448) : 64 * 1024;
    }

    static int requestSize(Random r) {
        return 64 + r.nextInt(4096 - 64);
    }

    static int responseSize(Random r) {
        return 64 + r.nextInt(16384 - 64);
    }
}
