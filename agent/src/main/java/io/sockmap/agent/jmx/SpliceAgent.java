package io.sockmap.agent.jmx;

import io.sockmap.engine.EngineStats;
import io.sockmap.engine.MapEntries;
import io.sockmap.engine.FallbackReason;

import java.lang.management.ManagementFactory;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;
import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import javax.management.StandardMBean;

/**
 * The {@link SpliceAgentMBean} implementation: reads a fresh {@link EngineStats} snapshot per
 * attribute. Registered through {@link StandardMBean} with the interface class given explicitly:
 * JMX's naming-convention lookup would work too, but the explicit form does not depend on which
 * class loader JMX introspection uses, and the interface lives in the agent's own loader.
 */
public final class SpliceAgent implements SpliceAgentMBean {
    public static final String OBJECT_NAME = "io.sockmap:type=SpliceAgent";

    private final Supplier<EngineStats> stats;
    private final Supplier<String> mode;
    private final Supplier<String> reason;
    private final String version;
    private final String config;
    private final Supplier<MapEntries> mapEntries;

    /**
     * @param stats  current stats, or null when there is no engine; may throw (counts as zeros)
     * @param mode   {@code splicing} or {@code off}
     * @param reason why off, empty when splicing
     */
    public SpliceAgent(Supplier<EngineStats> stats, Supplier<String> mode, Supplier<String> reason,
                       String version, String config) {
        this(stats, mode, reason, version, config, null);
    }

    /** As above, with {@code mapEntries}: what the engine holds in the kernel (null: no engine). */
    public SpliceAgent(Supplier<EngineStats> stats, Supplier<String> mode, Supplier<String> reason,
                       String version, String config, Supplier<MapEntries> mapEntries) {
        this.mapEntries = mapEntries;
        this.stats = stats;
        this.mode = mode;
        this.reason = reason;
        this.version = version;
        this.config = config;
    }

    /** Registers {@code bean} under {@link #OBJECT_NAME} in {@code server}, replacing a stale one. */
    public static ObjectName register(MBeanServer server, SpliceAgent bean) throws JMException {
        ObjectName name = new ObjectName(OBJECT_NAME);
        if (server.isRegistered(name)) server.unregisterMBean(name);
        server.registerMBean(new StandardMBean(bean, SpliceAgentMBean.class), name);
        return name;
    }

    public static ObjectName registerPlatform(SpliceAgent bean) throws JMException {
        return register(ManagementFactory.getPlatformMBeanServer(), bean);
    }

    /** Zeros, for "no engine". */
    public static EngineStats zeroStats() {
        return new EngineStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, Map.of());
    }

    private EngineStats snapshot() {
        if (stats == null) return zeroStats();
        try {
            EngineStats s = stats.get();
            return s == null ? zeroStats() : s;
        } catch (RuntimeException e) {
            return zeroStats();
        }
    }

    @Override public boolean isEnabled() { return "splicing".equals(mode.get()); }

    @Override public String getMode() { return mode.get(); }

    @Override public String getReason() { return reason.get(); }

    @Override public String getVersion() { return version; }

    @Override public String getConfig() { return config; }

    @Override public long getPairsSpliced() { return snapshot().pairsSpliced(); }

    @Override public long getPairsActive() { return snapshot().pairsActive(); }

    @Override public long getDirectionsSpliced() { return snapshot().directionsSpliced(); }

    @Override public long getDirectionsActive() { return snapshot().directionsActive(); }

    @Override public long getKernelBytesClientToServer() { return snapshot().kernelBytesAToB(); }

    @Override public long getKernelBytesServerToClient() { return snapshot().kernelBytesBToA(); }

    @Override public long getUserspaceBytesClientToServer() { return snapshot().userspaceBytesAToB(); }

    @Override public long getUserspaceBytesServerToClient() { return snapshot().userspaceBytesBToA(); }

    @Override public long getPauses() { return snapshot().pauses(); }

    @Override public long getAborts() { return snapshot().aborts(); }

    @Override
    public Map<String, Long> getFallbacks() {
        return fallbacks(snapshot());
    }

    @Override
    public long getFallbacksTotal() {
        long total = 0;
        for (long n : fallbacks(snapshot()).values()) total += n;
        return total;
    }

    @Override
    public Map<String, Long> getMapEntries() {
        MapEntries e = null;
        try {
            e = mapEntries == null ? null : mapEntries.get();
        } catch (RuntimeException ignored) {
            // counts as empty
        }
        if (e == null) e = new MapEntries(0, 0, 0, 0);
        Map<String, Long> out = new TreeMap<>();
        out.put("sources", e.sources());
        out.put("targets", e.targets());
        out.put("slots", e.slots());
        out.put("slotsInUse", e.slotsInUse());
        return out;
    }

    /** Every reason, in a {@link TreeMap} (serializable to any JMX client). */
    static Map<String, Long> fallbacks(EngineStats s) {
        Map<String, Long> out = new TreeMap<>();
        for (FallbackReason r : FallbackReason.values()) {
            Long n = s.fallbacks() == null ? null : s.fallbacks().get(r);
            out.put(r.name(), n == null ? 0L : n);
        }
        return out;
    }
}
