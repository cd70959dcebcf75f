package io.sockmap.agent;

import io.sockmap.engine.EngineStats;
import io.sockmap.engine.FallbackReason;
import org.junit.jupiter.api.Test;

import java.util.EnumMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AgentMainTest {
    @Test
    void summaryLine() {
        Map<FallbackReason, Long> fallbacks = new EnumMap<>(FallbackReason.class);
        fallbacks.put(FallbackReason.NOT_ESTABLISHED, 0L);
        fallbacks.put(FallbackReason.MAP_FULL, 3L);
        fallbacks.put(FallbackReason.UNAVAILABLE, 1L);
        EngineStats s = new EngineStats(7, 2, 14, 4, 1000, 2000, 30, 40, 5, 6, fallbacks);
        assertEquals("summary: pairs spliced 7, kernel bytes c->s 1000 / s->c 2000, userspace bytes 70, "
                + "fallbacks {UNAVAILABLE=1, MAP_FULL=3}, aborts 6", AgentMain.summary(s));
        assertEquals("summary: pairs spliced 0, kernel bytes c->s 0 / s->c 0, userspace bytes 0, fallbacks {}, aborts 0",
                AgentMain.summary(new EngineStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, Map.of())));
    }

    @Test
    void agentPairsAreAddedToTheEnginesPairCounts() {
        EngineStats s = new EngineStats(1, 1, 6, 3, 10, 20, 3, 4, 5, 6, Map.of());
        EngineStats merged = AgentMain.withAgentPairs(s, new long[] {2, 1});
        assertEquals(new EngineStats(3, 2, 6, 3, 10, 20, 3, 4, 5, 6, Map.of()), merged);
        assertTrue(AgentMain.summary(merged).startsWith("summary: pairs spliced 3, "));
    }

    @Test
    void header() {
        String h = AgentMain.header();
        assertTrue(h.matches("sockmap-agent dev on Linux \\S+ \\(JDK \\S+\\)"), h);
    }

    @Test
    void noBridgeClassesOutsideTheJar() {
        assertEquals(0, AgentMain.bootstrapClassNames().size());
    }
}
