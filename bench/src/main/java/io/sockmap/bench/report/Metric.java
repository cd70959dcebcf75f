package io.sockmap.bench.report;

import java.util.Locale;

/** One number a measurement records, with its unit, its printed form and which way is better. */
public enum Metric {
    GBPS("Gbit/s", "%.2f", true),
    RPS("req/s", "%.0f", true),
    CONNS_PER_S("conn/s", "%.0f", true),
    P50_US("p50 us", "%.0f", false),
    P99_US("p99 us", "%.0f", false),
    P999_US("p99.9 us", "%.0f", false),
    /** Payload bytes received by the backend (bulk) or moved both ways (request/response). */
    BYTES("bytes", "%.0f", true),
    /** Requests or connections completed in the measured window. */
    OPS("ops", "%.0f", true),
    SECONDS("s", "%.2f", false),
    PROXY_CPU_S("proxy CPU s", "%.2f", false),
    MACHINE_CPU_S("machine CPU s", "%.2f", false),
    SOFTIRQ_S("softirq s", "%.2f", false),
    PROXY_CPU_S_PER_GB("proxy CPU s/GB", "%.2f", false),
    MACHINE_CPU_S_PER_GB("machine CPU s/GB", "%.2f", false),
    PROXY_CPU_US_PER_OP("proxy CPU us/op", "%.1f", false),
    MACHINE_CPU_US_PER_OP("machine CPU us/op", "%.1f", false),
    /** Peak resident set of the proxy process during the measurement. */
    PROXY_RSS_MIB("proxy RSS MiB", "%.0f", false),
    /** Peak growth of the kernel's TCP socket memory (/proc/net/sockstat "TCP ... mem") during the measurement. */
    TCP_MEM_MIB("TCP mem MiB", "%.1f", false);

    private final String label;
    private final String format;
    private final boolean higherIsBetter;

    Metric(String label, String format, boolean higherIsBetter) {
        this.label = label;
        this.format = format;
        this.higherIsBetter = higherIsBetter;
    }

    public String label() {
        return label;
    }

    public boolean higherIsBetter() {
        return higherIsBetter;
    }

    /** The value as printed in tables; NaN (not measured) as "-". */
    public String format(double value) {
        return Double.isNaN(value) ? "-" : String.format(Locale.ROOT, format, value);
    }

    /** The CSV column name: the enum name in lower case. */
    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Metric ofKey(String key) {
        return valueOf(key.toUpperCase(Locale.ROOT));
    }
}
