package io.sockmap.agent.slf4j;

import io.sockmap.agent.AgentLog;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.ILoggerFactory;
import org.slf4j.IMarkerFactory;
import org.slf4j.Logger;
import org.slf4j.Marker;
import org.slf4j.event.Level;
import org.slf4j.helpers.BasicMarkerFactory;
import org.slf4j.helpers.LegacyAbstractLogger;
import org.slf4j.helpers.MessageFormatter;
import org.slf4j.helpers.NOPMDCAdapter;
import org.slf4j.spi.MDCAdapter;
import org.slf4j.spi.SLF4JServiceProvider;

/**
 * The SLF4J binding used <em>inside the agent jar only</em>: agent code (engine, loader, ...)
 * that logs through the SLF4J API ends up in {@link AgentLog#global()}, as
 * {@code [sockmap] LEVEL message} on stderr, honouring {@code sockmap.logLevel}. Without it the
 * agent's private SLF4J copy would print its "no providers" warning on the application's stderr.
 *
 * <p>Registered by a {@code inst/META-INF/services/org.slf4j.spi.SLF4JServiceProvider} entry
 * that the agent-jar build writes; the plain library jar has no such entry, so a library user's
 * own binding is never shadowed. TRACE is shown at DEBUG.
 */
public final class AgentSlf4jServiceProvider implements SLF4JServiceProvider {
    private final Map<String, Logger> loggers = new ConcurrentHashMap<>();
    private final ILoggerFactory factory = name -> loggers.computeIfAbsent(name, AgentLogger::new);
    private final IMarkerFactory markers = new BasicMarkerFactory();
    private final MDCAdapter mdc = new NOPMDCAdapter();

    @Override public ILoggerFactory getLoggerFactory() { return factory; }

    @Override public IMarkerFactory getMarkerFactory() { return markers; }

    @Override public MDCAdapter getMDCAdapter() { return mdc; }

    @Override public String getRequestedApiVersion() { return "2.0.99"; }

    @Override public void initialize() {}

    static AgentLog.Level map(Level level) {
        switch (level) {
            case ERROR: return AgentLog.Level.ERROR;
            case WARN: return AgentLog.Level.WARN;
            case INFO: return AgentLog.Level.INFO;
            default: return AgentLog.Level.DEBUG;
        }
    }

    static final class AgentLogger extends LegacyAbstractLogger {
        private static final long serialVersionUID = 1L;

        AgentLogger(String name) {
            this.name = name;
        }

        private static boolean on(AgentLog.Level l) {
            return AgentLog.global().isEnabled(l);
        }

        @Override public boolean isTraceEnabled() { return on(AgentLog.Level.DEBUG); }

        @Override public boolean isDebugEnabled() { return on(AgentLog.Level.DEBUG); }

        @Override public boolean isInfoEnabled() { return on(AgentLog.Level.INFO); }

        @Override public boolean isWarnEnabled() { return on(AgentLog.Level.WARN); }

        @Override public boolean isErrorEnabled() { return on(AgentLog.Level.ERROR); }

        @Override
        protected String getFullyQualifiedCallerName() {
            return null;
        }

        @Override
        protected void handleNormalizedLoggingCall(Level level, Marker marker, String pattern, Object[] args,
                                                   Throwable throwable) {
            String message = MessageFormatter.basicArrayFormat(pattern, args);
            AgentLog.global().log(map(level), message, throwable);
        }
    }
}
