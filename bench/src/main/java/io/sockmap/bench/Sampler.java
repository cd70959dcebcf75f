package io.sockmap.bench;

import java.util.ArrayList;
import java.util.List;

/**
 * Samples, every 50 ms while a load runs: the proxy's CPU ticks, the machine's busy and softirq
 * ticks (/proc/stat), the proxy's resident set and the kernel's TCP memory. CPU time inside a
 * window is interpolated between the samples around its bounds.
 */
final class Sampler implements AutoCloseable {

    /** One sample; {@code procTicks} -1 when there is no proxy process. */
    record Sample(long nanos, long procTicks, long busyTicks, long softirqTicks) {
    }

    private final long pid;
    private final List<Sample> samples = new ArrayList<>();
    private final Thread thread;
    private final long tcpMemBefore;
    private volatile boolean stop;
    private long maxRssKib = -1;
    private long maxTcpMemPages = -1;

    Sampler(long pid) {
        this.pid = pid;
        this.tcpMemBefore = ProcFs.tcpMemPages();
        sample();
        thread = new Thread(() -> {
            while (!stop) {
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    return;
                }
                sample();
            }
        }, "sampler");
        thread.setDaemon(true);
        thread.start();
    }

    private void sample() {
        ProcFs.MachineCpu m = ProcFs.machineCpu();
        Sample s = new Sample(System.nanoTime(), pid > 0 ? ProcFs.processCpuTicks(pid) : -1, m.busyTicks(), m.softirqTicks());
        long rss = pid > 0 ? ProcFs.rssKib(pid) : -1;
        long tcp = ProcFs.tcpMemPages();
        synchronized (this) {
            samples.add(s);
            maxRssKib = Math.max(maxRssKib, rss);
            maxTcpMemPages = Math.max(maxTcpMemPages, tcp);
        }
    }

    @Override
    public void close() {
        stop = true;
        thread.interrupt();
        try {
            thread.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        sample();
    }

    synchronized List<Sample> samples() {
        return List.copyOf(samples);
    }

    synchronized long maxRssKib() {
        return maxRssKib;
    }

    /** Peak TCP memory during the run minus the value just before it, pages. */
    synchronized long tcpMemGrowthPages() {
        return maxTcpMemPages < 0 || tcpMemBefore < 0 ? -1 : Math.max(0, maxTcpMemPages - tcpMemBefore);
    }

    /** Ticks spent between {@code from} and {@code to} (nanoTime), interpolated; pure. */
    static double ticksBetween(List<Sample> samples, long from, long to, java.util.function.ToLongFunction<Sample> field) {
        return valueAt(samples, to, field) - valueAt(samples, from, field);
    }

    static double valueAt(List<Sample> samples, long t, java.util.function.ToLongFunction<Sample> field) {
        Sample first = samples.get(0);
        if (t <= first.nanos()) {
            return field.applyAsLong(first);
        }
        for (int i = 1; i < samples.size(); i++) {
            Sample b = samples.get(i);
            if (t <= b.nanos()) {
                Sample a = samples.get(i - 1);
                double f = b.nanos() == a.nanos() ? 1 : (double) (t - a.nanos()) / (b.nanos() - a.nanos());
                return field.applyAsLong(a) + f * (field.applyAsLong(b) - field.applyAsLong(a));
            }
        }
        return field.applyAsLong(samples.get(samples.size() - 1));
    }
}
