package io.sockmap.agent;

import io.sockmap.engine.EngineConfig;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * The agent's settings, parsed from system properties and the agent argument string.
 *
 * <h2>Where settings come from</h2>
 * Each key can be given as a system property {@code -Dsockmap.<key>=<value>} and as an agent
 * argument {@code -javaagent:sockmap-agent.jar=<key>=<value>,<key>=<value>}. <b>A system
 * property overrides the agent argument</b> for the same key (the agent argument is usually baked
 * into a launcher or {@code JAVA_TOOL_OPTIONS}; {@code -D} is the per-run override). Agent
 * argument keys may also carry the {@code sockmap.} prefix. Properties {@code sockmap.<a>.<b>}
 * (with a dot) are reserved for internal use and ignored here.
 *
 * <h2>Keys</h2>
 * <pre>
 * enabled        true|false                            default true
 * ports          ports/ranges to splice                default all (empty = all)
 * skipPorts      ports/ranges never spliced            default none
 * addresses      CIDR blocks to splice                 default all (empty = all)
 * skipAddresses  CIDR blocks never spliced             default none
 * minBytes       size, 0..1024g                        default 256k
 * maxPairs       integer, 1..1048576                   default 16384
 * maxInflight    size, 64k..1g, per direction          default 16m
 * drainTimeout   duration, 1ms..24h                    default 30s
 * logLevel       off|error|warn|info|debug             default info
 * failHard       true|false                            default false
 * nettyEpoll     true|false                            default true
 * </pre>
 * <b>Lists</b> ({@code ports}, {@code skipPorts}, {@code addresses}, {@code skipAddresses}) are
 * separated by {@code ;} in both forms; {@code +} and {@code |} are accepted too ({@code +} needs
 * no shell quoting: {@code -javaagent:sockmap-agent.jar=ports=80+443}). In a system property a
 * {@code ,} also separates items ({@code -Dsockmap.ports=80,443}); in the agent argument a comma
 * always separates settings. Ports are {@code 1..65535} or ranges {@code 8000-8099}. Addresses are
 * IPv4/IPv6 CIDR blocks or single addresses, matched against either socket's remote address (an
 * IPv4-mapped IPv6 peer matches IPv4 blocks). <b>Sizes</b> are bytes with an optional suffix
 * {@code k}, {@code m}, {@code g} (powers of 1024, case-insensitive). <b>Durations</b> need a
 * unit: {@code ms}, {@code s}, {@code m}, {@code h} ({@code 500ms}, {@code 30s}).
 *
 * <h2>Bad values</h2>
 * Parsing never fails: a malformed or out-of-range value, an unknown key or a malformed agent
 * argument produces one warning line naming the key and what is accepted, and the value is
 * treated as absent (so the other source, or the default, applies). A port or block in both an
 * allow list and its skip list produces one warning; the skip list wins. Parsing is pure: see
 * {@link #parse(Map, String)}.
 *
 * <h2>Which pairs are spliced</h2>
 * {@link #shouldSplice}: a pair is skipped if any of its four ports is in {@code skipPorts} or
 * either remote address is in {@code skipAddresses}; otherwise, when {@code ports} is given, at
 * least one of the four ports must be in it, and when {@code addresses} is given, at least one
 * remote address must be in it.
 */
public final class AgentConfig {
    public static final String PROPERTY_PREFIX = "sockmap.";

    public static final boolean DEFAULT_ENABLED = true;
    public static final long DEFAULT_MIN_BYTES = 256L << 10;   // chosen by the benchmark: docs/BENCHMARKS.md
    public static final int DEFAULT_MAX_PAIRS = EngineConfig.DEFAULT_MAX_PAIRS;
    public static final long DEFAULT_MAX_INFLIGHT_BYTES = EngineConfig.DEFAULT_MAX_INFLIGHT_BYTES;
    public static final long DEFAULT_DRAIN_TIMEOUT_MILLIS = EngineConfig.DEFAULT_DRAIN_TIMEOUT_MILLIS;
    public static final AgentLog.Level DEFAULT_LOG_LEVEL = AgentLog.Level.INFO;
    public static final boolean DEFAULT_FAIL_HARD = false;
    public static final boolean DEFAULT_NETTY_EPOLL = true;

    public static final int MAX_PAIRS_LIMIT = 1 << 20;
    public static final long MIN_INFLIGHT_BYTES = 64L << 10;
    public static final long MAX_INFLIGHT_BYTES_LIMIT = 1L << 30;
    public static final long MAX_MIN_BYTES = 1L << 40;
    public static final long MAX_DRAIN_TIMEOUT_MILLIS = 24L * 3600 * 1000;

    private static final String LIST_SEPARATORS = "';' (or '+' or '|')";

    private final boolean enabled;
    private final PortSet ports;
    private final PortSet skipPorts;
    private final List<CidrBlock> addresses;
    private final List<CidrBlock> skipAddresses;
    private final long minBytes;
    private final int maxPairs;
    private final long maxInflightBytes;
    private final long drainTimeoutMillis;
    private final AgentLog.Level logLevel;
    private final boolean failHard;
    private final boolean nettyEpoll;

    private AgentConfig(Map<String, Object> v) {
        this.enabled = (Boolean) v.get("enabled");
        this.ports = (PortSet) v.get("ports");
        this.skipPorts = (PortSet) v.get("skipPorts");
        this.addresses = castList(v.get("addresses"));
        this.skipAddresses = castList(v.get("skipAddresses"));
        this.minBytes = (Long) v.get("minBytes");
        this.maxPairs = (Integer) v.get("maxPairs");
        this.maxInflightBytes = (Long) v.get("maxInflight");
        this.drainTimeoutMillis = (Long) v.get("drainTimeout");
        this.logLevel = (AgentLog.Level) v.get("logLevel");
        this.failHard = (Boolean) v.get("failHard");
        this.nettyEpoll = (Boolean) v.get("nettyEpoll");
    }

    @SuppressWarnings("unchecked")
    private static List<CidrBlock> castList(Object o) {
        return (List<CidrBlock>) o;
    }

    /** The result of {@link #parse}: the settings and one line per problem (without a prefix). */
    public record Parsed(AgentConfig config, List<String> warnings) {
        public Parsed {
            warnings = List.copyOf(warnings);
        }
    }

    /** Every key at its default. */
    public static AgentConfig defaults() {
        Map<String, Object> v = new LinkedHashMap<>();
        for (Setting<?> s : SETTINGS.values()) v.put(s.key, s.defaultValue);
        return new AgentConfig(v);
    }

    /** The {@code sockmap.*} system properties of this JVM, for {@link #parse}. */
    public static Map<String, String> systemProperties() {
        Map<String, String> out = new TreeMap<>();
        Properties props = System.getProperties();
        for (String name : props.stringPropertyNames()) {
            if (name.startsWith(PROPERTY_PREFIX)) out.put(name, props.getProperty(name));
        }
        return out;
    }

    /**
     * Parses settings. Pure: reads only its arguments.
     *
     * @param systemProperties system properties (any; only {@code sockmap.*} ones are read)
     * @param agentArgs        the {@code -javaagent:...=} string, or null
     */
    public static Parsed parse(Map<String, String> systemProperties, String agentArgs) {
        List<Problem> problems = new ArrayList<>();
        Map<String, String> fromProps = new LinkedHashMap<>();
        Map<String, String> fromArgs = new LinkedHashMap<>();

        for (Map.Entry<String, String> e : new TreeMap<>(systemProperties).entrySet()) {
            String name = e.getKey();
            if (name == null || !name.startsWith(PROPERTY_PREFIX)) continue;
            String key = name.substring(PROPERTY_PREFIX.length());
            if (key.indexOf('.') >= 0) continue; // reserved, e.g. sockmap.agent.attached
            if (SETTINGS.containsKey(key)) {
                fromProps.put(key, e.getValue() == null ? "" : e.getValue());
            } else {
                problems.add(Problem.general("ignoring unknown property " + name + "=\"" + e.getValue() + "\": "
                        + suggest(key, PROPERTY_PREFIX)));
            }
        }

        if (agentArgs != null) {
            for (String segment : agentArgs.split(",", -1)) {
                String s = segment.trim();
                if (s.isEmpty()) continue;
                int eq = s.indexOf('=');
                if (eq < 0) {
                    problems.add(Problem.general("ignoring agent argument \"" + s + "\": expected key=value; settings are"
                            + " separated by ',' and list items by " + LIST_SEPARATORS));
                    continue;
                }
                String key = s.substring(0, eq).trim();
                if (key.startsWith(PROPERTY_PREFIX)) key = key.substring(PROPERTY_PREFIX.length());
                String value = s.substring(eq + 1).trim();
                if (!SETTINGS.containsKey(key)) {
                    problems.add(Problem.general("ignoring unknown agent argument " + s.substring(0, eq).trim()
                            + "=\"" + value + "\": " + suggest(key, "")));
                    continue;
                }
                if (fromArgs.containsKey(key)) {
                    problems.add(Problem.general("agent argument " + key + " is given more than once; the last one (\""
                            + value + "\") wins"));
                }
                fromArgs.put(key, value);
            }
        }

        Map<String, Object> values = new LinkedHashMap<>();
        for (Setting<?> setting : SETTINGS.values()) {
            Object fromProp = null;
            Object fromArg = null;
            if (fromProps.containsKey(setting.key)) {
                String raw = fromProps.get(setting.key);
                try {
                    fromProp = setting.parse(raw, true);
                } catch (IllegalArgumentException e) {
                    problems.add(Problem.forKey(setting, "ignoring " + PROPERTY_PREFIX + setting.key + "=\"" + raw + "\": "
                            + detail(e) + setting.expected));
                }
            }
            if (fromArgs.containsKey(setting.key)) {
                String raw = fromArgs.get(setting.key);
                try {
                    fromArg = setting.parse(raw, false);
                } catch (IllegalArgumentException e) {
                    problems.add(Problem.forKey(setting, "ignoring agent argument " + setting.key + "=\"" + raw + "\": "
                            + detail(e) + setting.expected));
                }
            }
            values.put(setting.key, fromProp != null ? fromProp : fromArg != null ? fromArg : setting.defaultValue);
        }

        // Conflicts: the skip list wins (same outcome as applying both rules).
        PortSet both = ((PortSet) values.get("ports")).isAll()
                ? PortSet.NONE : ((PortSet) values.get("ports")).intersection((PortSet) values.get("skipPorts"));
        if (!both.isEmpty()) {
            problems.add(Problem.general("sockmap.ports and sockmap.skipPorts both list " + both
                    + ": skipPorts wins, those ports are never spliced"));
        }
        List<CidrBlock> sameBlocks = new ArrayList<>(castList(values.get("addresses")));
        sameBlocks.retainAll(castList(values.get("skipAddresses")));
        if (!sameBlocks.isEmpty()) {
            problems.add(Problem.general("sockmap.addresses and sockmap.skipAddresses both list " + join(sameBlocks)
                    + ": skipAddresses wins, those addresses are never spliced"));
        }

        AgentConfig config = new AgentConfig(values);
        List<String> warnings = new ArrayList<>();
        for (Problem p : problems) {
            warnings.add(p.setting == null ? p.text : p.text + "; using " + p.setting.format(values.get(p.setting.key)));
        }
        return new Parsed(config, warnings);
    }

    private static String detail(IllegalArgumentException e) {
        String m = e.getMessage();
        return m == null || m.isEmpty() ? "" : m + "; ";
    }

    private static String suggest(String key, String prefix) {
        for (String known : SETTINGS.keySet()) {
            if (known.equalsIgnoreCase(key)) return "did you mean " + prefix + known + "?";
        }
        return "known keys are " + String.join(", ", SETTINGS.keySet());
    }

    private record Problem(Setting<?> setting, String text) {
        static Problem general(String text) {
            return new Problem(null, text);
        }

        static Problem forKey(Setting<?> s, String text) {
            return new Problem(s, text);
        }
    }

    // ---------------------------------------------------------------- settings table

    private static final class Setting<T> {
        final String key;
        final T defaultValue;
        /** Completes "ignoring x="y": [detail; ]" e.g. "expected true or false". */
        final String expected;
        final ValueParser<T> parser;
        final Function<T, String> formatter;

        Setting(String key, T defaultValue, String expected, ValueParser<T> parser, Function<T, String> formatter) {
            this.key = key;
            this.defaultValue = defaultValue;
            this.expected = expected;
            this.parser = parser;
            this.formatter = formatter;
        }

        T parse(String raw, boolean fromProperty) {
            return parser.parse(raw.trim(), fromProperty);
        }

        @SuppressWarnings("unchecked")
        String format(Object value) {
            return formatter.apply((T) value);
        }
    }

    @FunctionalInterface
    private interface ValueParser<T> {
        T parse(String text, boolean fromProperty);
    }

    private static final Map<String, Setting<?>> SETTINGS = new LinkedHashMap<>();

    private static <T> void define(String key, T def, String expected, ValueParser<T> p, Function<T, String> f) {
        SETTINGS.put(key, new Setting<>(key, def, expected, p, f));
    }

    static {
        define("enabled", DEFAULT_ENABLED, "expected true or false", (t, p) -> parseBoolean(t), String::valueOf);
        define("ports", PortSet.ALL, "expected ports 1-65535 or ranges like 8000-8099, separated by " + LIST_SEPARATORS,
                (t, p) -> parsePorts(t, p, PortSet.ALL), v -> v.isAll() ? "all ports" : v.toString());
        define("skipPorts", PortSet.NONE, "expected ports 1-65535 or ranges like 8000-8099, separated by " + LIST_SEPARATORS,
                (t, p) -> parsePorts(t, p, PortSet.NONE), v -> v.isEmpty() ? "none" : v.toString());
        define("addresses", List.<CidrBlock>of(),
                "expected CIDR blocks like 10.0.0.0/8 or ::1/128, separated by " + LIST_SEPARATORS,
                (t, p) -> parseBlocks(t, p), v -> v.isEmpty() ? "all addresses" : join(v));
        define("skipAddresses", List.<CidrBlock>of(),
                "expected CIDR blocks like 10.0.0.0/8 or ::1/128, separated by " + LIST_SEPARATORS,
                (t, p) -> parseBlocks(t, p), v -> v.isEmpty() ? "none" : join(v));
        define("minBytes", DEFAULT_MIN_BYTES, "expected a size from 0 to 1024g: bytes with an optional suffix k, m or g (like 64k)",
                (t, p) -> parseSize(t, 0, MAX_MIN_BYTES), AgentConfig::formatSize);
        define("maxPairs", DEFAULT_MAX_PAIRS, "expected an integer from 1 to " + MAX_PAIRS_LIMIT,
                (t, p) -> parseInt(t, 1, MAX_PAIRS_LIMIT), String::valueOf);
        define("maxInflight", DEFAULT_MAX_INFLIGHT_BYTES,
                "expected a size from 64k to 1g: bytes with an optional suffix k, m or g (like 4m)",
                (t, p) -> parseSize(t, MIN_INFLIGHT_BYTES, MAX_INFLIGHT_BYTES_LIMIT), AgentConfig::formatSize);
        define("drainTimeout", DEFAULT_DRAIN_TIMEOUT_MILLIS,
                "expected a duration from 1ms to 24h with a unit ms, s, m or h (like 30s or 500ms)",
                (t, p) -> parseDurationMillis(t, 1, MAX_DRAIN_TIMEOUT_MILLIS), AgentConfig::formatDuration);
        define("logLevel", DEFAULT_LOG_LEVEL, "expected off, error, warn, info or debug", (t, p) -> {
            AgentLog.Level l = AgentLog.Level.parse(t);
            if (l == null) throw new IllegalArgumentException();
            return l;
        }, String::valueOf);
        define("failHard", DEFAULT_FAIL_HARD, "expected true or false", (t, p) -> parseBoolean(t), String::valueOf);
        define("nettyEpoll", DEFAULT_NETTY_EPOLL, "expected true or false", (t, p) -> parseBoolean(t), String::valueOf);
    }

    /** The keys, in documentation order. */
    public static List<String> keys() {
        return List.copyOf(SETTINGS.keySet());
    }

    // ---------------------------------------------------------------- value parsers (pure)

    static boolean parseBoolean(String t) {
        if (t.equalsIgnoreCase("true")) return true;
        if (t.equalsIgnoreCase("false")) return false;
        throw new IllegalArgumentException();
    }

    static int parseInt(String t, int min, int max) {
        if (t.isEmpty() || t.length() > 10 || !t.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new IllegalArgumentException();
        }
        long v = Long.parseLong(t);
        if (v < min || v > max) throw new IllegalArgumentException(v + " is out of range");
        return (int) v;
    }

    /** {@code 65536}, {@code 64k}, {@code 4M}, {@code 1g}: powers of 1024. */
    static long parseSize(String t, long min, long max) {
        if (t.isEmpty()) throw new IllegalArgumentException();
        char last = Character.toLowerCase(t.charAt(t.length() - 1));
        int shift = last == 'k' ? 10 : last == 'm' ? 20 : last == 'g' ? 30 : 0;
        String digits = shift == 0 ? t : t.substring(0, t.length() - 1);
        if (digits.isEmpty() || digits.length() > 15 || !digits.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new IllegalArgumentException();
        }
        long n = Long.parseLong(digits);
        if (n > (max >> shift)) throw new IllegalArgumentException(t + " is out of range");
        long v = n << shift;
        if (v < min || v > max) throw new IllegalArgumentException(t + " is out of range");
        return v;
    }

    /** {@code 500ms}, {@code 30s}, {@code 2m}, {@code 1h}: a unit is required. */
    static long parseDurationMillis(String t, long min, long max) {
        String lower = t.toLowerCase(Locale.ROOT);
        long unit;
        String digits;
        if (lower.endsWith("ms")) {
            unit = 1;
            digits = lower.substring(0, lower.length() - 2);
        } else if (lower.endsWith("s")) {
            unit = 1000;
            digits = lower.substring(0, lower.length() - 1);
        } else if (lower.endsWith("m")) {
            unit = 60_000;
            digits = lower.substring(0, lower.length() - 1);
        } else if (lower.endsWith("h")) {
            unit = 3_600_000;
            digits = lower.substring(0, lower.length() - 1);
        } else {
            if (!lower.isEmpty() && lower.chars().allMatch(c -> c >= '0' && c <= '9')) {
                throw new IllegalArgumentException("a unit is required");
            }
            throw new IllegalArgumentException();
        }
        if (digits.isEmpty() || digits.length() > 12 || !digits.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new IllegalArgumentException();
        }
        long v = Long.parseLong(digits) * unit;
        if (v < min || v > max) throw new IllegalArgumentException(t + " is out of range");
        return v;
    }

    /** Items separated by ';', '+', '|' (and ',' in a system property); blanks dropped. */
    static List<String> splitList(String t, boolean fromProperty) {
        String regex = fromProperty ? "[;+|,]" : "[;+|]";
        List<String> items = new ArrayList<>();
        for (String s : t.split(regex, -1)) {
            String item = s.trim();
            if (!item.isEmpty()) items.add(item);
        }
        return items;
    }

    /** An empty list (or one of blanks) is {@code whenEmpty}: "all" for ports, "none" for skipPorts. */
    private static PortSet parsePorts(String t, boolean fromProperty, PortSet whenEmpty) {
        List<String> items = splitList(t, fromProperty);
        return items.isEmpty() ? whenEmpty : PortSet.parse(items);
    }

    private static List<CidrBlock> parseBlocks(String t, boolean fromProperty) {
        List<CidrBlock> blocks = new ArrayList<>();
        for (String item : splitList(t, fromProperty)) {
            CidrBlock b = CidrBlock.parse(item);
            if (!blocks.contains(b)) blocks.add(b);
        }
        return Collections.unmodifiableList(blocks);
    }

    static String formatSize(long bytes) {
        if (bytes != 0 && bytes % (1L << 30) == 0) return (bytes >> 30) + "g";
        if (bytes != 0 && bytes % (1L << 20) == 0) return (bytes >> 20) + "m";
        if (bytes != 0 && bytes % (1L << 10) == 0) return (bytes >> 10) + "k";
        return Long.toString(bytes);
    }

    static String formatDuration(long millis) {
        if (millis % 3_600_000 == 0) return millis / 3_600_000 + "h";
        if (millis % 60_000 == 0) return millis / 60_000 + "m";
        if (millis % 1000 == 0) return millis / 1000 + "s";
        return millis + "ms";
    }

    private static String join(List<CidrBlock> blocks) {
        StringBuilder s = new StringBuilder();
        for (CidrBlock b : blocks) {
            if (s.length() > 0) s.append(';');
            s.append(b);
        }
        return s.toString();
    }

    // ---------------------------------------------------------------- accessors

    public boolean enabled() { return enabled; }

    /** Ports to splice; {@link PortSet#isAll()} when not restricted. */
    public PortSet ports() { return ports; }

    public PortSet skipPorts() { return skipPorts; }

    /** Blocks to splice; empty when not restricted. */
    public List<CidrBlock> addresses() { return addresses; }

    public List<CidrBlock> skipAddresses() { return skipAddresses; }

    /** Bytes a direction relays in userspace before it is spliced. */
    public long minBytes() { return minBytes; }

    public int maxPairs() { return maxPairs; }

    public long maxInflightBytes() { return maxInflightBytes; }

    public long drainTimeoutMillis() { return drainTimeoutMillis; }

    public AgentLog.Level logLevel() { return logLevel; }

    public boolean failHard() { return failHard; }

    /** Whether relays on Netty's native epoll transport are spliced too (its JNI socket calls instrumented). */
    public boolean nettyEpoll() { return nettyEpoll; }

    public EngineConfig engineConfig() {
        return new EngineConfig(maxPairs, maxInflightBytes, drainTimeoutMillis);
    }

    // ---------------------------------------------------------------- filter

    /**
     * Whether a pair may be spliced under the port and address rules (see the class comment).
     * Socket A is usually the accepted (client) socket and B the connected (server) one, but the
     * rule is symmetric. Null addresses (unknown) match no rule: they never cause a skip, and they
     * do not satisfy {@code ports} / {@code addresses}.
     */
    public boolean shouldSplice(InetSocketAddress localA, InetSocketAddress remoteA,
                                InetSocketAddress localB, InetSocketAddress remoteB) {
        InetSocketAddress[] all = {localA, remoteA, localB, remoteB};
        if (!skipPorts.isEmpty()) {
            for (InetSocketAddress a : all) {
                if (a != null && skipPorts.contains(a.getPort())) return false;
            }
        }
        InetAddress peerA = remoteA == null ? null : remoteA.getAddress();
        InetAddress peerB = remoteB == null ? null : remoteB.getAddress();
        for (CidrBlock b : skipAddresses) {
            if (b.contains(peerA) || b.contains(peerB)) return false;
        }
        if (!ports.isAll()) {
            boolean any = false;
            for (InetSocketAddress a : all) {
                if (a != null && ports.contains(a.getPort())) {
                    any = true;
                    break;
                }
            }
            if (!any) return false;
        }
        if (!addresses.isEmpty()) {
            boolean any = false;
            for (CidrBlock b : addresses) {
                if (b.contains(peerA) || b.contains(peerB)) {
                    any = true;
                    break;
                }
            }
            if (!any) return false;
        }
        return true;
    }

    /** Whether the port rules alone allow a pair with these ports (for a check before addresses are known). */
    public boolean portsAllow(int... pairPorts) {
        for (int p : pairPorts) {
            if (skipPorts.contains(p)) return false;
        }
        if (ports.isAll()) return true;
        for (int p : pairPorts) {
            if (ports.contains(p)) return true;
        }
        return false;
    }

    /** {@code key=value} for every key, comma-separated, values in canonical form. */
    @Override
    public String toString() {
        return "enabled=" + enabled
                + ", ports=" + ports
                + ", skipPorts=" + skipPorts
                + ", addresses=" + (addresses.isEmpty() ? "all" : join(addresses))
                + ", skipAddresses=" + (skipAddresses.isEmpty() ? "none" : join(skipAddresses))
                + ", minBytes=" + formatSize(minBytes)
                + ", maxPairs=" + maxPairs
                + ", maxInflight=" + formatSize(maxInflightBytes)
                + ", drainTimeout=" + formatDuration(drainTimeoutMillis)
                + ", logLevel=" + logLevel
                + ", failHard=" + failHard
                + ", nettyEpoll=" + nettyEpoll;
    }
}
