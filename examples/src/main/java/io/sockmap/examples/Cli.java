package io.sockmap.examples;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Minimal {@code --name value} / {@code --name=value} / {@code --flag} parser shared by the
 * example programs, plus the process plumbing every {@code main} needs (usage, exit codes).
 *
 * <p>Sizes accept a binary suffix: {@code 16K}, {@code 32M}, {@code 1G}, {@code 2GiB}
 * (K = 1024). Exit codes: 0 success, 1 failure reported by the program, 2 bad command line.
 */
final class Cli {

    /** The body of a program's {@code main}; returns the process exit code. */
    @FunctionalInterface
    interface Program {
        int run(Cli cli) throws Exception;
    }

    /** A bad command line; the message is printed above the usage text. */
    static final class UsageException extends Exception {
        private static final long serialVersionUID = 1L;
        final boolean help;

        UsageException(String message) {
            this(message, false);
        }

        private UsageException(String message, boolean help) {
            super(message);
            this.help = help;
        }
    }

    private final Map<String, String> values;
    private final Set<String> flagsSeen;

    private Cli(Map<String, String> values, Set<String> flagsSeen) {
        this.values = values;
        this.flagsSeen = flagsSeen;
    }

    /**
     * Parses {@code args}. {@code valueOptions} take an argument, {@code flagOptions} do not;
     * names are given without the leading dashes.
     */
    static Cli parse(String[] args, Set<String> valueOptions, Set<String> flagOptions) throws UsageException {
        Map<String, String> values = new HashMap<>();
        Set<String> flags = new java.util.HashSet<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (arg.equals("-h") || arg.equals("--help")) {
                throw new UsageException(null, true);
            }
            if (!arg.startsWith("--") || arg.length() == 2) {
                throw new UsageException("unexpected argument: " + arg);
            }
            String name = arg.substring(2);
            String value = null;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            }
            if (flagOptions.contains(name)) {
                if (value != null) {
                    throw new UsageException("--" + name + " takes no value");
                }
                flags.add(name);
            } else if (valueOptions.contains(name)) {
                if (value == null) {
                    if (i + 1 >= args.length) {
                        throw new UsageException("--" + name + " needs a value");
                    }
                    value = args[++i];
                }
                values.put(name, value);
            } else {
                throw new UsageException("unknown option: --" + name);
            }
        }
        return new Cli(values, flags);
    }

    /**
     * Runs a program the way every example {@code main} does: prints usage on {@code --help}
     * (exit 0) or on a bad command line (exit 2), reports an unexpected exception (exit 1),
     * and otherwise exits with the program's code (a zero code returns normally).
     */
    static void main(String usage, String[] args, Set<String> valueOptions, Set<String> flagOptions,
                     Program program) {
        int code;
        try {
            code = program.run(parse(args, valueOptions, flagOptions));
        } catch (UsageException e) {
            if (e.help) {
                System.out.println(usage);
                code = 0;
            } else {
                System.err.println("error: " + e.getMessage());
                System.err.println(usage);
                code = 2;
            }
        } catch (Exception e) {
            System.err.println("error: " + e);
            code = 1;
        }
        System.out.flush();
        System.err.flush();
        if (code != 0) {
            System.exit(code);
        }
    }

    boolean has(String name) {
        return flagsSeen.contains(name) || values.containsKey(name);
    }

    String string(String name, String dflt) {
        return values.getOrDefault(name, dflt);
    }

    String required(String name) throws UsageException {
        String v = values.get(name);
        if (v == null) {
            throw new UsageException("--" + name + " is required");
        }
        return v;
    }

    int port(String name, int dflt) throws UsageException {
        String v = values.get(name);
        if (v == null) {
            return dflt;
        }
        int p = integer(name, v);
        if (p < 0 || p > 65535) {
            throw new UsageException("--" + name + ": not a port: " + v);
        }
        return p;
    }

    int integer(String name, int dflt) throws UsageException {
        String v = values.get(name);
        return v == null ? dflt : integer(name, v);
    }

    private static int integer(String name, String v) throws UsageException {
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + ": not an integer: " + v);
        }
    }

    long longValue(String name, long dflt) throws UsageException {
        String v = values.get(name);
        if (v == null) {
            return dflt;
        }
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + ": not an integer: " + v);
        }
    }

    /** A non-negative byte count with an optional binary suffix (K, M, G, T; "iB"/"B" allowed). */
    long size(String name, long dflt) throws UsageException {
        String v = values.get(name);
        if (v == null) {
            return dflt;
        }
        try {
            return parseSize(v);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--" + name + ": " + e.getMessage());
        }
    }

    /** A non-negative number of seconds (decimals allowed). */
    double seconds(String name, double dflt) throws UsageException {
        String v = values.get(name);
        if (v == null) {
            return dflt;
        }
        try {
            double d = Double.parseDouble(v.trim().replaceFirst("(?i)s$", ""));
            if (!(d >= 0) || Double.isInfinite(d)) {
                throw new NumberFormatException();
            }
            return d;
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + ": not a number of seconds: " + v);
        }
    }

    /** {@code HOST:PORT}, {@code [v6]:PORT} or a bare {@code PORT} (loopback). */
    InetSocketAddress hostPort(String name) throws UsageException {
        String v = required(name);
        try {
            return parseHostPort(v);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--" + name + ": " + e.getMessage());
        }
    }

    /** The address to bind servers to (default loopback). */
    InetAddress bindAddress() throws UsageException {
        String v = string("bind", "127.0.0.1");
        try {
            return InetAddress.getByName(v);
        } catch (UnknownHostException e) {
            throw new UsageException("--bind: unknown host " + v);
        }
    }

    static long parseSize(String text) {
        String s = text.trim().toUpperCase(Locale.ROOT);
        if (s.endsWith("IB")) {
            s = s.substring(0, s.length() - 2);
        } else if (s.endsWith("B")) {
            s = s.substring(0, s.length() - 1);
        }
        long unit = 1;
        if (!s.isEmpty()) {
            switch (s.charAt(s.length() - 1)) {
                case 'K': unit = 1L << 10; break;
                case 'M': unit = 1L << 20; break;
                case 'G': unit = 1L << 30; break;
                case 'T': unit = 1L << 40; break;
                default: break;
            }
        }
        if (unit != 1) {
            s = s.substring(0, s.length() - 1);
        }
        try {
            long n = Long.parseLong(s);
            if (n < 0 || n > Long.MAX_VALUE / unit) {
                throw new NumberFormatException();
            }
            return n * unit;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a size: " + text);
        }
    }

    static InetSocketAddress parseHostPort(String text) {
        String host;
        String port;
        int colon = text.lastIndexOf(':');
        if (colon < 0) {
            host = "127.0.0.1";
            port = text;
        } else {
            host = text.substring(0, colon);
            port = text.substring(colon + 1);
            if (host.startsWith("[") && host.endsWith("]")) {
                host = host.substring(1, host.length() - 1);
            }
            if (host.isEmpty()) {
                host = "127.0.0.1";
            }
        }
        int p;
        try {
            p = Integer.parseInt(port);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not HOST:PORT: " + text);
        }
        if (p <= 0 || p > 65535) {
            throw new IllegalArgumentException("not a port: " + port);
        }
        InetSocketAddress a = new InetSocketAddress(host, p);
        if (a.isUnresolved()) {
            throw new IllegalArgumentException("unknown host: " + host);
        }
        return a;
    }
}
