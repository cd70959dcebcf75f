package io.sockmap.bench;

import java.net.InetSocketAddress;

/**
 * One configuration under test (direct, a Java proxy with or without the agent, HAProxy). Started
 * once before the first repetition and kept running, so every repetition finds it warm.
 */
interface Subject extends AutoCloseable {

    String name();

    /** Where a workload that needs {@code backend} connects. */
    InetSocketAddress endpoint(BackendKind backend);

    /** The process that relays for {@code backend}, or -1 when there is none (direct). */
    long pid(BackendKind backend);

    /** Stops the processes this subject started. */
    @Override
    void close();

    /** Lines worth reporting after the run (the agent's exit summary), empty by default. */
    default java.util.List<String> notes() {
        return java.util.List.of();
    }
}
