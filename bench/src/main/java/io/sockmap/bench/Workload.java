package io.sockmap.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

import io.sockmap.bench.report.Metric;
import io.sockmap.bench.report.TableSpec;
import io.sockmap.examples.LoadClient;

/**
 * One kind of load: which backend it needs, how its table looks and how to run it once. Bulk and
 * request/response use the examples' {@link LoadClient} in this JVM; short connections use {@link
 * ShortConnections}.
 */
record Workload(String id, BackendKind backend, TableSpec table, Body body) {

    /** Runs the load once against {@code target}. */
    @FunctionalInterface
    interface Body {
        Outcome run(InetSocketAddress target) throws IOException, InterruptedException;
    }

    /**
     * What the load itself measured; {@code windowStart/End} ({@code System.nanoTime()}) bound the
     * part of the run the numbers refer to, 0 = the whole run.
     */
    record Outcome(Map<Metric, Double> values, boolean ok, String note, long windowStart, long windowEnd) {
    }

    static final List<Metric> BULK_COLUMNS = List.of(Metric.PROXY_CPU_S_PER_GB, Metric.MACHINE_CPU_S_PER_GB,
            Metric.SOFTIRQ_S, Metric.PROXY_RSS_MIB, Metric.TCP_MEM_MIB);
    static final List<Metric> RR_COLUMNS = List.of(Metric.P50_US, Metric.P99_US, Metric.P999_US,
            Metric.PROXY_CPU_US_PER_OP, Metric.MACHINE_CPU_US_PER_OP, Metric.PROXY_RSS_MIB, Metric.TCP_MEM_MIB);
    static final List<Metric> SHORT_COLUMNS = List.of(Metric.P50_US, Metric.P99_US, Metric.P999_US,
            Metric.PROXY_CPU_US_PER_OP, Metric.MACHINE_CPU_US_PER_OP, Metric.PROXY_RSS_MIB);
    static final List<Metric> UPLOAD_COLUMNS = List.of(Metric.CONNS_PER_S, Metric.P50_US, Metric.P99_US,
            Metric.PROXY_CPU_S_PER_GB, Metric.MACHINE_CPU_S_PER_GB);

    /** The main benchmark: bulk 1 and 8 streams, 1 KiB request/response at 100 and many connections, short connections. */
    static List<Workload> main(Plan plan) {
        return List.of(bulk(1, plan), bulk(8, plan), rr(100, plan), rr(plan.manyConnections(), plan),
                shortRequests(plan));
    }

    /**
     * The sockmap.minBytes sweep: short 1 KiB connections (never spliced), 1 KiB request/response
     * on 100 long-lived connections (spliced during the run below about 400 KiB), and connections
     * that exchange a few sizes both ways with an echo server.
     */
    static List<Workload> sweep(Plan plan) {
        return List.of(shortRequests(plan), rr(100, plan), exchange(64 << 10, "64k", plan), exchange(256 << 10, "256k", plan),
                exchange(1 << 20, "1m", plan), exchange(16 << 20, "16m", plan));
    }

    static Workload bulk(int streams, Plan plan) {
        TableSpec spec = new TableSpec("bulk-" + streams,
                "Bulk, " + streams + " stream" + (streams == 1 ? "" : "s") + " (Gbit/s received by the backend)",
                Metric.GBPS, BULK_COLUMNS, List.of(Metric.MACHINE_CPU_S_PER_GB));
        return new Workload(spec.workload(), BackendKind.SINK, spec, target -> {
            LoadClient.Result r = LoadClient.run("--target", hostPort(target), "--mode", "bulk", "--backend", "sink",
                    "--streams", Integer.toString(streams), "--duration", Double.toString(plan.bulkSeconds()),
                    "--no-verify", "--connect-timeout", "30");
            LoadClient.BulkResult b = (LoadClient.BulkResult) r;
            Map<Metric, Double> v = new EnumMap<>(Metric.class);
            v.put(Metric.GBPS, b.gbps());
            v.put(Metric.BYTES, (double) b.bytesReceived());
            v.put(Metric.SECONDS, b.seconds());
            return new Outcome(v, b.ok(), problems(b), 0, 0);
        });
    }

    static Workload rr(int connections, Plan plan) {
        // LoadClient opens the connections 16 at a time, each answered once before the next; a
        // thread-per-connection proxy takes 30-40 s to start 19,000 threads here: allow 180 s
        double warmup = Math.max(plan.rrWarmupSeconds(), connections / 2000.0);
        String idleTimeout = connections >= 1000 ? "180" : "60";
        TableSpec spec = new TableSpec("rr-" + connections,
                "1 KiB request/response, " + String.format("%,d", connections) + " connections (warm-up "
                        + tenths(warmup) + " s, then "
                        + String.format(java.util.Locale.ROOT, "%.0f", plan.rrSeconds()) + " s measured)",
                Metric.RPS, RR_COLUMNS, List.of(Metric.P99_US, Metric.MACHINE_CPU_US_PER_OP));
        return new Workload(spec.workload(), BackendKind.REQRESP, spec, target -> {
            LoadClient.Result r = LoadClient.run("--target", hostPort(target), "--mode", "rr",
                    "--connections", Integer.toString(connections), "--size", "1024",
                    "--duration", Double.toString(plan.rrSeconds()), "--warmup", Double.toString(warmup),
                    "--connect-timeout", "30", "--idle-timeout", idleTimeout);
            LoadClient.RrResult rr = (LoadClient.RrResult) r;
            Map<Metric, Double> v = new EnumMap<>(Metric.class);
            v.put(Metric.RPS, rr.requestsPerSecond());
            v.put(Metric.P50_US, rr.p50us());
            v.put(Metric.P99_US, rr.p99us());
            v.put(Metric.P999_US, rr.p999us());
            v.put(Metric.OPS, (double) rr.requests());
            v.put(Metric.BYTES, rr.requests() * 2048.0);
            v.put(Metric.SECONDS, rr.seconds());
            String note = problems(rr);
            if (rr.ok() && rr.answeredAllAfterSeconds() >= 1) {
                // before the warm-up: how long the proxy took to accept and answer every connection
                note = String.format(java.util.Locale.ROOT, "connections opened and answered once in %.1f s",
                        rr.answeredAllAfterSeconds());
            }
            return new Outcome(v, rr.ok(), note, rr.windowStartNanos(), rr.windowEndNanos());
        });
    }

    static Workload shortRequests(Plan plan) {
        TableSpec spec = new TableSpec("short-1k",
                "Short connections: connect, one 1 KiB request/response, close (" + plan.shortConcurrency()
                        + " client threads, after a " + tenths(plan.rrWarmupSeconds()) + " s warm-up; below sockmap.minBytes, never spliced)",
                Metric.CONNS_PER_S, SHORT_COLUMNS, List.of(Metric.P99_US));
        return shortConnections(spec, ShortConnections.Kind.REQUEST, BackendKind.REQRESP, 1024, plan.shortConcurrency(), plan);
    }

    static Workload exchange(int size, String label, Plan plan) {
        TableSpec spec = new TableSpec("exchange-" + label,
                "Connections exchanging " + label + " each way with an echo server, then closing (4 client threads, after a "
                        + tenths(plan.rrWarmupSeconds()) + " s warm-up;"
                        + " Gbit/s = bytes echoed back / time)",
                Metric.GBPS, UPLOAD_COLUMNS, List.of());
        return shortConnections(spec, ShortConnections.Kind.EXCHANGE, BackendKind.ECHO, size, 4, plan);
    }

    private static Workload shortConnections(TableSpec spec, ShortConnections.Kind kind, BackendKind backend, int size,
                                             int concurrency, Plan plan) {
        return new Workload(spec.workload(), backend, spec, target -> {
            ShortConnections.Result r = ShortConnections.run(target, kind, size, concurrency, plan.rrWarmupSeconds(),
                    plan.shortSeconds());
            Map<Metric, Double> v = new EnumMap<>(Metric.class);
            v.put(Metric.CONNS_PER_S, r.connections() / r.seconds());
            v.put(Metric.GBPS, r.bytes() * 8 / r.seconds() / 1e9);
            if (r.latencies().getTotalCount() > 0) {
                v.put(Metric.P50_US, r.latencies().getValueAtPercentile(50) / 1e3);
                v.put(Metric.P99_US, r.latencies().getValueAtPercentile(99) / 1e3);
                v.put(Metric.P999_US, r.latencies().getValueAtPercentile(99.9) / 1e3);
            }
            v.put(Metric.OPS, (double) r.connections());
            v.put(Metric.BYTES, (double) r.bytes());
            v.put(Metric.SECONDS, r.seconds());
            String note = r.errors() == 0 ? "" : r.errors() + " errors, first: " + r.firstError();
            return new Outcome(v, r.ok(), note, r.windowStartNanos(), r.windowEndNanos());
        });
    }

    /** Seconds with one decimal, for table titles. */
    private static String tenths(double seconds) {
        return String.format(java.util.Locale.ROOT, "%.1f", seconds);
    }

    private static String problems(LoadClient.Result r) {
        return r.ok() ? "" : r.summary() + " " + String.join("; ", r.problems());
    }

    static String hostPort(InetSocketAddress a) {
        return a.getHostString() + ":" + a.getPort();
    }
}
