package io.sockmap.bench.report;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;

/**
 * One run of one workload against one subject (a configuration: direct, a proxy, HAProxy).
 * {@code ok} is false when the load client reported a mismatch or an error; such a run is kept in
 * the raw data but left out of the medians.
 */
public record Measurement(String workload, String subject, int repetition, boolean ok, String note,
                          Map<Metric, Double> values) {

    public Measurement {
        EnumMap<Metric, Double> copy = new EnumMap<>(Metric.class);
        copy.putAll(values);
        values = Collections.unmodifiableMap(copy);
        note = note == null ? "" : note;
    }

    /** The value of {@code m}, NaN when it was not measured. */
    public double get(Metric m) {
        Double v = values.get(m);
        return v == null ? Double.NaN : v;
    }
}
