package io.sockmap.agent.slf4j;

import io.sockmap.agent.AgentLog;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AgentSlf4jServiceProviderTest {
    @Test
    void routesToTheGlobalAgentLog() {
        List<String> lines = new ArrayList<>();
        AgentLog before = AgentLog.global();
        AgentLog.setGlobal(new AgentLog(AgentLog.Level.INFO, lines::add, System::nanoTime));
        try {
            AgentSlf4jServiceProvider provider = new AgentSlf4jServiceProvider();
            provider.initialize();
            Logger logger = provider.getLoggerFactory().getLogger("io.sockmap.engine.SpliceEngine");
            assertSame(logger, provider.getLoggerFactory().getLogger("io.sockmap.engine.SpliceEngine"));
            logger.info("spliced {} pairs on {}", 3, "eth0");
            logger.debug("hidden {}", 1);
            logger.trace("hidden");
            logger.warn("failed", new IOException("x"));
            logger.error("bad {}", "thing");
            assertTrue(logger.isInfoEnabled());
            assertFalse(logger.isDebugEnabled());
            assertEquals(List.of("[sockmap] INFO spliced 3 pairs on eth0",
                    "[sockmap] WARN failed: java.io.IOException: x",
                    "[sockmap] ERROR bad thing"), lines);
            assertEquals("2.0.99", provider.getRequestedApiVersion());
        } finally {
            AgentLog.setGlobal(before);
        }
    }
}
