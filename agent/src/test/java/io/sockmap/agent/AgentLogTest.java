package io.sockmap.agent;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AgentLogTest {
    final List<String> lines = new ArrayList<>();
    final AtomicLong now = new AtomicLong(1_000);

    AgentLog log(AgentLog.Level level) {
        return new AgentLog(level, lines::add, now::get);
    }

    @Test
    void formatAndLevels() {
        AgentLog log = log(AgentLog.Level.INFO);
        log.error("e");
        log.warn("w");
        log.info("i");
        log.debug("d");
        assertEquals(List.of("[sockmap] ERROR e", "[sockmap] WARN w", "[sockmap] INFO i"), lines);
        assertFalse(log.isDebugEnabled());
        assertFalse(log.isEnabled(AgentLog.Level.OFF));
        lines.clear();
        AgentLog off = log(AgentLog.Level.OFF);
        off.error("e");
        off.warnOnce("k", "w");
        off.warnRateLimited("k", "w");
        assertEquals(List.of(), lines);
        off.setLevel(AgentLog.Level.WARN);
        off.warn("now");
        assertEquals(List.of("[sockmap] WARN now"), lines);
    }

    @Test
    void throwableOnOneLineUnlessDebug() {
        AgentLog log = log(AgentLog.Level.INFO);
        log.warn("engine", new IOException("boom", new IllegalStateException("root")));
        assertEquals(List.of("[sockmap] WARN engine: java.io.IOException: boom; caused by java.lang.IllegalStateException: root"),
                lines);
        lines.clear();
        log(AgentLog.Level.DEBUG).error("engine", new IOException("boom"));
        assertEquals(1, lines.size());
        assertTrue(lines.get(0).startsWith("[sockmap] ERROR engine: java.io.IOException: boom" + System.lineSeparator()
                + "java.io.IOException: boom"), lines.get(0));
        assertTrue(lines.get(0).contains("\tat io.sockmap.agent.AgentLogTest"), lines.get(0));
    }

    @Test
    void warnOnce() {
        AgentLog log = log(AgentLog.Level.INFO);
        log.warnOnce("a", "first a");
        log.warnOnce("a", "second a");
        log.warnOnce("b", "first b");
        assertEquals(List.of("[sockmap] WARN first a", "[sockmap] WARN first b"), lines);
    }

    @Test
    void rateLimitedPerKeyPerMinuteWithSuppressedCount() {
        AgentLog log = log(AgentLog.Level.INFO);
        log.warnRateLimited("MAP_FULL", "fallback MAP_FULL");
        log.warnRateLimited("MAP_FULL", "fallback MAP_FULL");
        log.warnRateLimited("NO_FD", "fallback NO_FD");
        now.addAndGet(TimeUnit.SECONDS.toNanos(59));
        log.warnRateLimited("MAP_FULL", "fallback MAP_FULL");
        now.addAndGet(TimeUnit.SECONDS.toNanos(1));
        log.warnRateLimited("MAP_FULL", "fallback MAP_FULL again");
        log.warnRateLimited("MAP_FULL", "fallback MAP_FULL");
        now.addAndGet(TimeUnit.MINUTES.toNanos(5));
        log.warnRateLimited("MAP_FULL", "quiet since");
        assertEquals(List.of(
                "[sockmap] WARN fallback MAP_FULL",
                "[sockmap] WARN fallback NO_FD",
                "[sockmap] WARN fallback MAP_FULL again (2 more since the last one)",
                "[sockmap] WARN quiet since (1 more since the last one)"), lines);
        lines.clear();
        log.logRateLimited(AgentLog.Level.DEBUG, "x", "not at info");
        assertEquals(List.of(), lines);
    }

    @Test
    void levelParse() {
        assertEquals(AgentLog.Level.WARN, AgentLog.Level.parse(" Warn "));
        assertNull(AgentLog.Level.parse("warning"));
        assertNull(AgentLog.Level.parse(null));
        assertEquals("debug", AgentLog.Level.DEBUG.toString());
    }

    @Test
    void globalIsReplaceable() {
        AgentLog before = AgentLog.global();
        try {
            AgentLog mine = log(AgentLog.Level.DEBUG);
            AgentLog.setGlobal(mine);
            assertTrue(AgentLog.global() == mine);
        } finally {
            AgentLog.setGlobal(before);
        }
    }
}
