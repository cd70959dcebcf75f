package io.sockmap.bench.report;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The medians over repetitions of every (workload, subject, metric), and their ratios to the
 * {@value #DIRECT} subject of the same workload and to the same proxy without the agent.
 *
 * <p>Naming convention that the ratios rely on: a subject with the agent is named
 * {@code <proxy>+agent...} (for example {@code ThreadPairProxy+agent} or
 * {@code ThreadPairProxy+agent(minBytes=16k)}); its baseline is {@code <proxy>}.
 */
public final class Summary {

    /** The subject every ratio refers to: client to backend, no proxy. */
    public static final String DIRECT = "direct";
    static final String AGENT_MARK = "+agent";

    private final Map<String, Map<String, List<Measurement>>> byWorkloadSubject = new LinkedHashMap<>();

    private Summary() {
    }

    public static Summary of(List<Measurement> measurements) {
        Summary s = new Summary();
        for (Measurement m : measurements) {
            s.byWorkloadSubject.computeIfAbsent(m.workload(), w -> new LinkedHashMap<>())
                    .computeIfAbsent(m.subject(), x -> new ArrayList<>()).add(m);
        }
        return s;
    }

    /** The proxy a subject with the agent is compared with, or null. */
    public static String baselineOf(String subject) {
        int at = subject.indexOf(AGENT_MARK);
        return at > 0 ? subject.substring(0, at) : null;
    }

    /** Workloads in the order first seen. */
    public List<String> workloads() {
        return List.copyOf(byWorkloadSubject.keySet());
    }

    /** Subjects of a workload in the order first seen. */
    public List<String> subjects(String workload) {
        return List.copyOf(byWorkloadSubject.getOrDefault(workload, Map.of()).keySet());
    }

    /** Subjects of every workload, in the order first seen. */
    public List<String> allSubjects() {
        Set<String> all = new LinkedHashSet<>();
        for (Map<String, List<Measurement>> m : byWorkloadSubject.values()) {
            all.addAll(m.keySet());
        }
        return List.copyOf(all);
    }

    private List<Measurement> runs(String workload, String subject) {
        return byWorkloadSubject.getOrDefault(workload, Map.of()).getOrDefault(subject, List.of());
    }

    /** Runs that completed without error / all runs. */
    public int okRuns(String workload, String subject) {
        return (int) runs(workload, subject).stream().filter(Measurement::ok).count();
    }

    public int allRuns(String workload, String subject) {
        return runs(workload, subject).size();
    }

    /** Median of {@code metric} over the OK runs; NaN if none. */
    public double median(String workload, String subject, Metric metric) {
        List<Double> values = new ArrayList<>();
        for (Measurement m : runs(workload, subject)) {
            if (m.ok()) {
                values.add(m.get(metric));
            }
        }
        return Stats.median(values);
    }

    /** Median of the subject / median of direct, same workload. */
    public double ratioToDirect(String workload, String subject, Metric metric) {
        return Stats.ratio(median(workload, subject, metric), median(workload, DIRECT, metric));
    }

    /** Median of the subject / median of the same proxy without the agent; NaN without a baseline. */
    public double ratioToBaseline(String workload, String subject, Metric metric) {
        String base = baselineOf(subject);
        return base == null ? Double.NaN : Stats.ratio(median(workload, subject, metric), median(workload, base, metric));
    }

    /** Notes of the failed runs, "subject #rep: note". */
    public List<String> failures(String workload) {
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, List<Measurement>> e : byWorkloadSubject.getOrDefault(workload, Map.of()).entrySet()) {
            for (Measurement m : e.getValue()) {
                if (!m.ok()) {
                    out.add(e.getKey() + " #" + m.repetition() + ": " + m.note());
                }
            }
        }
        return out;
    }
}
