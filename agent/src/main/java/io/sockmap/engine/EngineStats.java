package io.sockmap.engine;

import java.util.Map;

/**
 * A snapshot of the engine's counters. "a to b" is the direction from the first socket given to
 * {@code splice} (or the source flagged {@code aToB} in {@code spliceDirection}) to the second;
 * for a proxy the agent passes the accepted (client) socket first, so a-to-b is client to server.
 */
public record EngineStats(
        long pairsSpliced,
        long pairsActive,
        long directionsSpliced,
        long directionsActive,
        long kernelBytesAToB,
        long kernelBytesBToA,
        long userspaceBytesAToB,
        long userspaceBytesBToA,
        long pauses,
        long aborts,
        Map<FallbackReason, Long> fallbacks) {
}
