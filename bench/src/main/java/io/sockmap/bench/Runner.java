package io.sockmap.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import io.sockmap.bench.report.Measurement;
import io.sockmap.bench.report.MeasurementCsv;
import io.sockmap.bench.report.Metric;

/**
 * Runs every workload against every subject, interleaved: for each repetition, for each workload,
 * every subject once (the order rotates from one repetition to the next), so slow drifts of the
 * machine hit all subjects alike. Before each measurement it waits for a quiet machine
 * ({@link #awaitQuiet}). Each measurement is appended to the CSV at once and printed as one
 * progress line.
 */
final class Runner {

    private final List<Subject> subjects;
    private final List<Workload> workloads;
    private final int repetitions;
    private final Path csv;
    private final PrintStream progress;
    private final List<Measurement> measurements = new ArrayList<>();

    Runner(List<Subject> subjects, List<Workload> workloads, int repetitions, Path csv, PrintStream progress) {
        this.subjects = List.copyOf(subjects);
        this.workloads = List.copyOf(workloads);
        this.repetitions = repetitions;
        this.csv = csv;
        this.progress = progress;
    }

    List<Measurement> run() throws IOException, InterruptedException {
        if (!Files.exists(csv)) {
            Files.writeString(csv, MeasurementCsv.header() + "\n");
        }
        int total = repetitions * workloads.size() * subjects.size();
        int done = 0;
        long started = System.nanoTime();
        for (int rep = 1; rep <= repetitions; rep++) {
            for (Workload w : workloads) {
                for (int i = 0; i < subjects.size(); i++) {
                    Subject s = subjects.get((i + rep - 1) % subjects.size());
                    long waited = awaitQuiet();
                    Measurement m = measure(s, w, rep);
                    measurements.add(m);
                    Files.writeString(csv, MeasurementCsv.line(m) + "\n", StandardOpenOption.APPEND);
                    done++;
                    double elapsed = (System.nanoTime() - started) / 1e9;
                    double eta = elapsed / done * (total - done);
                    progress.printf(Locale.ROOT, "[%3d/%d, rep %d/%d, eta %dm%02ds] %-9s %-28s %s%s%n", done, total, rep,
                            repetitions, (int) eta / 60, (int) eta % 60, w.id(), s.name(), brief(w, m),
                            waited >= 1000 ? String.format(Locale.ROOT, " (after %.1f s waiting for a quiet machine)",
                                    waited / 1e3) : "");
                }
            }
        }
        return measurements;
    }

    static String brief(Workload w, Measurement m) {
        Metric p = w.table().primary();
        String s = p.format(m.get(p)) + " " + p.label();
        if (!Double.isNaN(m.get(Metric.P99_US))) {
            s += ", p99 " + Metric.P99_US.format(m.get(Metric.P99_US)) + " us";
        }
        if (!Double.isNaN(m.get(Metric.PROXY_CPU_S))) {
            s += ", proxy CPU " + Metric.PROXY_CPU_S.format(m.get(Metric.PROXY_CPU_S)) + " s";
        }
        s += ", machine CPU " + Metric.MACHINE_CPU_S.format(m.get(Metric.MACHINE_CPU_S)) + " s";
        return m.ok() ? s : "FAILED: " + m.note() + " (" + s + ")";
    }

    /** Below this many busy CPUs the machine counts as quiet. */
    static final double QUIET_CPUS = 0.3;
    static final long QUIET_STEP_MILLIS = 250;
    static final long QUIET_MAX_MILLIS = 60_000;

    /**
     * Waits until the machine is quiet (fewer than {@link #QUIET_CPUS} busy CPUs over
     * {@link #QUIET_STEP_MILLIS}), at most {@link #QUIET_MAX_MILLIS}; returns the milliseconds
     * waited. After 9,500 connections a thread-per-connection proxy spends seconds ending 19,000
     * threads, and the next configuration would be measured on what CPU that leaves (one
     * measurement got 747 req/s where the others got 10,000 or more).
     */
    static long awaitQuiet() throws InterruptedException {
        long start = System.nanoTime();
        long before = ProcFs.machineCpu().busyTicks();
        while (true) {
            Thread.sleep(QUIET_STEP_MILLIS);
            long now = ProcFs.machineCpu().busyTicks();
            double cpus = (now - before) / ProcFs.TICKS_PER_SECOND / (QUIET_STEP_MILLIS / 1e3);
            long waited = (System.nanoTime() - start) / 1_000_000;
            if (cpus < QUIET_CPUS || waited >= QUIET_MAX_MILLIS) {
                return waited;
            }
            before = now;
        }
    }

    static Measurement measure(Subject s, Workload w, int rep) throws InterruptedException {
        long pid = s.pid(w.backend());
        Workload.Outcome o;
        Sampler sampler = new Sampler(pid);
        long t0 = System.nanoTime();
        try {
            o = w.body().run(s.endpoint(w.backend()));
        } catch (IOException | RuntimeException e) {
            o = new Workload.Outcome(Map.of(), false, e.toString(), 0, 0);
        } finally {
            sampler.close();
        }
        long t1 = System.nanoTime();
        long from = o.windowStart() != 0 ? o.windowStart() : t0;
        long to = o.windowEnd() != 0 ? o.windowEnd() : t1;
        List<Sampler.Sample> samples = sampler.samples();
        Map<Metric, Double> v = new EnumMap<>(Metric.class);
        v.putAll(o.values());
        double machine = Sampler.ticksBetween(samples, from, to, Sampler.Sample::busyTicks) / ProcFs.TICKS_PER_SECOND;
        double softirq = Sampler.ticksBetween(samples, from, to, Sampler.Sample::softirqTicks) / ProcFs.TICKS_PER_SECOND;
        v.put(Metric.MACHINE_CPU_S, machine);
        v.put(Metric.SOFTIRQ_S, softirq);
        double proxy = Double.NaN;
        if (pid > 0) {
            proxy = Sampler.ticksBetween(samples, from, to, Sampler.Sample::procTicks) / ProcFs.TICKS_PER_SECOND;
            v.put(Metric.PROXY_CPU_S, proxy);
            if (sampler.maxRssKib() > 0) {
                v.put(Metric.PROXY_RSS_MIB, sampler.maxRssKib() / 1024.0);
            }
        }
        if (sampler.tcpMemGrowthPages() >= 0) {
            v.put(Metric.TCP_MEM_MIB, sampler.tcpMemGrowthPages() * (double) ProcFs.PAGE_SIZE / (1 << 20));
        }
        Double bytes = v.get(Metric.BYTES);
        if (bytes != null && bytes > 0) {
            v.put(Metric.MACHINE_CPU_S_PER_GB, machine / (bytes / 1e9));
            if (pid > 0) {
                v.put(Metric.PROXY_CPU_S_PER_GB, proxy / (bytes / 1e9));
            }
        }
        Double ops = v.get(Metric.OPS);
        if (ops != null && ops > 0) {
            v.put(Metric.MACHINE_CPU_US_PER_OP, machine * 1e6 / ops);
            if (pid > 0) {
                v.put(Metric.PROXY_CPU_US_PER_OP, proxy * 1e6 / ops);
            }
        }
        return new Measurement(w.id(), s.name(), rep, o.ok(), o.note(), v);
    }
}
