package io.sockmap.agent.jmx;

import java.util.Map;

/**
 * The agent's JMX view, registered as {@code io.sockmap:type=SpliceAgent} in the platform MBean
 * server. "ClientToServer" is the engine's a-to-b direction (the agent passes the accepted socket
 * first). All counters are zero while splicing is off.
 */
public interface SpliceAgentMBean {
    /** True when the engine is open and the instrumentation installed. */
    boolean isEnabled();

    /** {@code splicing} or {@code off}. */
    String getMode();

    /** Why the mode is {@code off}; empty when splicing. */
    String getReason();

    String getVersion();

    /** The effective settings, {@code key=value, ...}. */
    String getConfig();

    long getPairsSpliced();

    long getPairsActive();

    long getDirectionsSpliced();

    long getDirectionsActive();

    long getKernelBytesClientToServer();

    long getKernelBytesServerToClient();

    long getUserspaceBytesClientToServer();

    long getUserspaceBytesServerToClient();

    long getPauses();

    long getAborts();

    /** Count per fallback reason (every reason, zeros included), as a serializable sorted map. */
    Map<String, Long> getFallbacks();

    long getFallbacksTotal();

    /**
     * What the engine holds in the kernel now: keys in its maps ({@code sources}, {@code targets},
     * {@code slots}, counted by walking the maps) and direction slots in use ({@code slotsInUse}).
     * All 0 when no connection is spliced: a leak check. Zeros while splicing is off.
     */
    Map<String, Long> getMapEntries();
}
