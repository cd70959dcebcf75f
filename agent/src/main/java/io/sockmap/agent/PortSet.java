package io.sockmap.agent;

import java.util.BitSet;

/**
 * An immutable set of TCP ports, or "every port". Parsed from items like {@code 8080} and
 * {@code 8000-8099}; see {@link AgentConfig} for the list syntax.
 */
public final class PortSet {
    public static final PortSet ALL = new PortSet(null);
    public static final PortSet NONE = new PortSet(new BitSet());

    /** Null means every port. */
    private final BitSet ports;

    private PortSet(BitSet ports) {
        this.ports = ports;
    }

    /** A set of the given ports (each 1..65535). */
    public static PortSet of(int... ports) {
        BitSet b = new BitSet(65536);
        for (int p : ports) {
            if (p < 1 || p > 65535) throw new IllegalArgumentException("not a port: " + p);
            b.set(p);
        }
        return new PortSet(b);
    }

    /**
     * Parses list items ({@code 8080}, {@code 8000-8099}); throws {@link IllegalArgumentException}
     * whose message names the first bad item.
     */
    static PortSet parse(Iterable<String> items) {
        BitSet b = new BitSet(65536);
        for (String item : items) {
            int dash = item.indexOf('-');
            if (dash < 0) {
                b.set(port(item));
            } else {
                int from = port(item.substring(0, dash));
                int to = port(item.substring(dash + 1));
                if (from > to) throw new IllegalArgumentException("\"" + item + "\" is an empty range");
                b.set(from, to + 1);
            }
        }
        return new PortSet(b);
    }

    private static int port(String text) {
        String t = text.trim();
        if (t.isEmpty() || t.length() > 5 || !t.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new IllegalArgumentException("\"" + text.trim() + "\" is not a port");
        }
        int p = Integer.parseInt(t);
        if (p < 1 || p > 65535) throw new IllegalArgumentException(p + " is not a port");
        return p;
    }

    public boolean isAll() {
        return ports == null;
    }

    /** True if no port is in the set (never true for {@link #ALL}). */
    public boolean isEmpty() {
        return ports != null && ports.isEmpty();
    }

    public boolean contains(int port) {
        if (ports == null) return port >= 1 && port <= 65535;
        return port >= 1 && port <= 65535 && ports.get(port);
    }

    /** Ports in both sets; {@link #NONE} if there are none. */
    public PortSet intersection(PortSet other) {
        if (ports == null) return other;
        if (other.ports == null) return this;
        BitSet b = (BitSet) ports.clone();
        b.and(other.ports);
        return new PortSet(b);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PortSet && java.util.Objects.equals(ports, ((PortSet) o).ports);
    }

    @Override
    public int hashCode() {
        return ports == null ? 0 : ports.hashCode();
    }

    /** {@code all}, {@code none}, or items joined by {@code ;} with runs as ranges: {@code 80;8000-8099}. */
    @Override
    public String toString() {
        if (ports == null) return "all";
        if (ports.isEmpty()) return "none";
        StringBuilder s = new StringBuilder();
        for (int from = ports.nextSetBit(0); from >= 0; ) {
            int end = ports.nextClearBit(from); // exclusive
            if (s.length() > 0) s.append(';');
            s.append(from);
            if (end - 1 > from) s.append('-').append(end - 1);
            from = ports.nextSetBit(end);
        }
        return s.toString();
    }
}
