package io.sockmap.agent.jmx;

import io.sockmap.engine.EngineStats;
import io.sockmap.engine.FallbackReason;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.util.Map;
import java.util.TreeMap;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanServer;
import javax.management.ObjectName;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SpliceAgentTest {
    @Test
    void registeredAndReadableThroughThePlatformServer() throws Exception {
        EngineStats stats = new EngineStats(7, 2, 14, 4, 1000, 2000, 30, 40, 5, 6, Map.of(FallbackReason.MAP_FULL, 3L));
        SpliceAgent bean = new SpliceAgent(() -> stats, () -> "splicing", () -> "", "1.2.3", "enabled=true");
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        ObjectName name = SpliceAgent.registerPlatform(bean);
        try {
            assertEquals(new ObjectName("io.sockmap:type=SpliceAgent"), name);
            SpliceAgent.registerPlatform(bean); // a second registration replaces the first
            assertEquals(true, server.getAttribute(name, "Enabled"));
            assertEquals("splicing", server.getAttribute(name, "Mode"));
            assertEquals("", server.getAttribute(name, "Reason"));
            assertEquals("1.2.3", server.getAttribute(name, "Version"));
            assertEquals("enabled=true", server.getAttribute(name, "Config"));
            assertEquals(7L, server.getAttribute(name, "PairsSpliced"));
            assertEquals(2L, server.getAttribute(name, "PairsActive"));
            assertEquals(14L, server.getAttribute(name, "DirectionsSpliced"));
            assertEquals(4L, server.getAttribute(name, "DirectionsActive"));
            assertEquals(1000L, server.getAttribute(name, "KernelBytesClientToServer"));
            assertEquals(2000L, server.getAttribute(name, "KernelBytesServerToClient"));
            assertEquals(30L, server.getAttribute(name, "UserspaceBytesClientToServer"));
            assertEquals(40L, server.getAttribute(name, "UserspaceBytesServerToClient"));
            assertEquals(5L, server.getAttribute(name, "Pauses"));
            assertEquals(6L, server.getAttribute(name, "Aborts"));
            assertEquals(3L, server.getAttribute(name, "FallbacksTotal"));
            @SuppressWarnings("unchecked")
            Map<String, Long> fallbacks = (Map<String, Long>) server.getAttribute(name, "Fallbacks");
            assertTrue(fallbacks instanceof TreeMap);
            assertEquals(FallbackReason.values().length, fallbacks.size());
            assertEquals(3L, fallbacks.get("MAP_FULL"));
            assertEquals(0L, fallbacks.get("NO_FD"));
            int attributes = 0;
            for (MBeanAttributeInfo a : server.getMBeanInfo(name).getAttributes()) {
                attributes++;
                assertTrue(a.isReadable() && !a.isWritable(), a.getName());
            }
            assertEquals(18, attributes);
            assertEquals(Map.of("sources", 0L, "targets", 0L, "slots", 0L, "slotsInUse", 0L),
                    server.getAttribute(name, "MapEntries"), "no map-entries supplier: zeros");
            SpliceAgent.registerPlatform(new SpliceAgent(() -> stats, () -> "splicing", () -> "", "1.2.3", "enabled=true",
                    () -> new io.sockmap.engine.MapEntries(1, 2, 3, 4)));
            assertEquals(Map.of("sources", 1L, "targets", 2L, "slots", 3L, "slotsInUse", 4L),
                    server.getAttribute(name, "MapEntries"));
        } finally {
            server.unregisterMBean(name);
        }
    }

    @Test
    void noEngineOrFailingStatsReadAsZero() {
        SpliceAgent none = new SpliceAgent(null, () -> "off", () -> "no CAP_BPF", "v", "");
        assertEquals(0, none.getPairsSpliced());
        assertEquals(0, none.getFallbacksTotal());
        assertEquals(false, none.isEnabled());
        assertEquals("no CAP_BPF", none.getReason());
        SpliceAgent failing = new SpliceAgent(() -> {
            throw new UnsupportedOperationException();
        }, () -> "splicing", () -> "", "v", "");
        assertEquals(0, failing.getKernelBytesClientToServer());
    }
}
