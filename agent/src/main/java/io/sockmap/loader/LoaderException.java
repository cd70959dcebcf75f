package io.sockmap.loader;

/**
 * Parsing or loading a BPF object failed. For a program the verifier rejected, {@link #verifierLog()}
 * holds the whole log and the message its last lines, e.g.
 * {@code "load program sm_verdict: EACCES (verifier: R1 invalid mem access 'scalar' | ...)"}.
 */
public class LoaderException extends Exception {
    private static final long serialVersionUID = 1L;
    private final String verifierLog;

    public LoaderException(String message) {
        this(message, null, null);
    }

    public LoaderException(String message, Throwable cause) {
        this(message, null, cause);
    }

    public LoaderException(String message, String verifierLog, Throwable cause) {
        super(message, cause);
        this.verifierLog = verifierLog;
    }

    /** The verifier's whole log, or null when the failure did not come from the verifier. */
    public String verifierLog() {
        return verifierLog;
    }
}
