package io.sockmap.agent;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.Charset;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * The agent's own logger: one line per message on the process's standard error, prefixed
 * {@code [sockmap] LEVEL }.
 *
 * <p>Why not SLF4J (or java.util.logging) for these lines: the agent must not touch the
 * application's logging. SLF4J inside the agent would need a binding that prints somewhere
 * anyway, and java.util.logging is the application's global {@code LogManager}. Writing to file
 * descriptor 2 ourselves has no start-up side effects, works before anything else is loaded, and
 * keeps working when the application replaces {@code System.err} (e.g. with a logging bridge).
 * Library code under {@code io.sockmap} that uses the SLF4J API is routed here by
 * {@link io.sockmap.agent.slf4j.AgentSlf4jServiceProvider} inside the agent jar.
 *
 * <p>Fallback reasons and other per-event conditions go through {@link #warnRateLimited}: one
 * line per key per minute, the next line carrying the count of lines suppressed in between.
 * Thread-safe.
 */
public final class AgentLog {
    /** Levels, from quietest to noisiest. */
    public enum Level {
        OFF, ERROR, WARN, INFO, DEBUG;

        /** Parses {@code off|error|warn|info|debug}, case-insensitively; null if not one of them. */
        public static Level parse(String text) {
            if (text == null) return null;
            switch (text.trim().toLowerCase(Locale.ROOT)) {
                case "off": return OFF;
                case "error": return ERROR;
                case "warn": return WARN;
                case "info": return INFO;
                case "debug": return DEBUG;
                default: return null;
            }
        }

        @Override
        public String toString() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public static final String PREFIX = "[sockmap] ";
    /** One line per key per this interval in {@link #warnRateLimited}. */
    public static final long RATE_LIMIT_NANOS = TimeUnit.MINUTES.toNanos(1);

    private static volatile AgentLog global = new AgentLog(Level.INFO, stderrSink(), System::nanoTime);

    private volatile Level level;
    private final Consumer<String> sink;
    private final LongSupplier nanoClock;
    private final Map<String, Boolean> once = new ConcurrentHashMap<>();
    private final Map<String, Window> windows = new ConcurrentHashMap<>();

    /**
     * @param sink      receives whole lines without the trailing newline
     * @param nanoClock monotonic clock for rate limiting ({@code System::nanoTime})
     */
    public AgentLog(Level level, Consumer<String> sink, LongSupplier nanoClock) {
        this.level = Objects.requireNonNull(level, "level");
        this.sink = Objects.requireNonNull(sink, "sink");
        this.nanoClock = Objects.requireNonNull(nanoClock, "nanoClock");
    }

    /** A logger writing to file descriptor 2. */
    public static AgentLog toStderr(Level level) {
        return new AgentLog(level, stderrSink(), System::nanoTime);
    }

    /** The logger the agent installed (or an INFO logger on stderr before that). */
    public static AgentLog global() {
        return global;
    }

    /** Makes {@code log} the one returned by {@link #global()} (done once by the agent at start). */
    public static void setGlobal(AgentLog log) {
        global = Objects.requireNonNull(log, "log");
    }

    public Level level() {
        return level;
    }

    public void setLevel(Level level) {
        this.level = Objects.requireNonNull(level, "level");
    }

    public boolean isEnabled(Level l) {
        return l != Level.OFF && l.ordinal() <= level.ordinal();
    }

    public void log(Level l, String message) {
        if (!isEnabled(l)) return;
        sink.accept(PREFIX + l.name() + ' ' + message);
    }

    /**
     * Logs {@code message: <throwable>} on one line; at DEBUG the stack trace follows on the next
     * lines.
     */
    public void log(Level l, String message, Throwable t) {
        if (!isEnabled(l)) return;
        if (t == null) {
            log(l, message);
            return;
        }
        StringBuilder line = new StringBuilder(PREFIX).append(l.name()).append(' ').append(message)
                .append(": ").append(describe(t));
        if (isEnabled(Level.DEBUG)) {
            StringWriter trace = new StringWriter();
            t.printStackTrace(new PrintWriter(trace));
            line.append(System.lineSeparator()).append(trace.toString().stripTrailing());
        }
        sink.accept(line.toString());
    }

    public void error(String message) { log(Level.ERROR, message); }

    public void error(String message, Throwable t) { log(Level.ERROR, message, t); }

    public void warn(String message) { log(Level.WARN, message); }

    public void warn(String message, Throwable t) { log(Level.WARN, message, t); }

    public void info(String message) { log(Level.INFO, message); }

    public void debug(String message) { log(Level.DEBUG, message); }

    public void debug(String message, Throwable t) { log(Level.DEBUG, message, t); }

    public boolean isDebugEnabled() {
        return isEnabled(Level.DEBUG);
    }

    /** Logs at WARN the first time {@code key} is seen, never again for that key. */
    public void warnOnce(String key, String message) {
        if (!isEnabled(Level.WARN)) return;
        if (once.putIfAbsent(key, Boolean.TRUE) == null) warn(message);
    }

    /**
     * Logs at WARN at most once per {@link #RATE_LIMIT_NANOS minute} per {@code key} (e.g. one key per
     * fallback reason). Lines dropped in between are counted, and the next line logged for the key
     * ends with {@code (N more since the last one)}.
     */
    public void warnRateLimited(String key, String message) {
        logRateLimited(Level.WARN, key, message);
    }

    /** As {@link #warnRateLimited}, at any level. */
    public void logRateLimited(Level l, String key, String message) {
        if (!isEnabled(l)) return;
        Window w = windows.computeIfAbsent(key, k -> new Window());
        long suppressed;
        synchronized (w) {
            long now = nanoClock.getAsLong();
            if (w.emitted && now - w.lastEmitNanos < RATE_LIMIT_NANOS) {
                w.suppressed++;
                return;
            }
            suppressed = w.suppressed;
            w.emitted = true;
            w.lastEmitNanos = now;
            w.suppressed = 0;
        }
        log(l, suppressed == 0 ? message : message + " (" + suppressed + " more since the last one)");
    }

    /** {@code Class: message} for a throwable and its causes, on one line. */
    static String describe(Throwable t) {
        StringBuilder b = new StringBuilder(t.toString());
        Throwable cause = t.getCause();
        for (int depth = 0; cause != null && cause != t && depth < 5; depth++, cause = cause.getCause()) {
            b.append("; caused by ").append(cause);
        }
        return b.toString();
    }

    private static final class Window {
        boolean emitted;
        long lastEmitNanos;
        long suppressed;
    }

    /**
     * Writes each line with one {@code write} to file descriptor 2, so lines from several threads
     * (and the application's own stderr output) do not interleave within a line.
     */
    static Consumer<String> stderrSink() {
        OutputStream err = new FileOutputStream(FileDescriptor.err);
        Charset cs = Charset.defaultCharset();
        String nl = System.lineSeparator();
        return line -> {
            byte[] bytes = (line + nl).getBytes(cs);
            synchronized (err) {
                try {
                    err.write(bytes);
                } catch (IOException ignored) {
                    // stderr closed: nothing else to tell
                }
            }
        };
    }
}
