package io.sockmap.instrument;

/** Where the instrumentation logs (the agent's log in production, a list in tests). */
public interface InstrumentLog {
    void info(String message);

    void warn(String message);

    void debug(String message);

    /** Logs {@code message} as a warning the first time {@code key} is seen, never again. */
    void warnOnce(String key, String message);
}
