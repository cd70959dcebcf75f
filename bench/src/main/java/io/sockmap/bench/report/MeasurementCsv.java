package io.sockmap.bench.report;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The raw data: one CSV line per measurement, so a report can be rendered again without running
 * the benchmark ({@code --report-only}). Columns: workload, subject, repetition, ok, every
 * {@link Metric} by its key (empty = not measured), note (last, may contain commas).
 */
public final class MeasurementCsv {

    private static final int FIXED = 4;

    private MeasurementCsv() {
    }

    public static String header() {
        StringBuilder b = new StringBuilder("workload,subject,repetition,ok");
        for (Metric m : Metric.values()) {
            b.append(',').append(m.key());
        }
        return b.append(",note").toString();
    }

    public static String line(Measurement m) {
        StringBuilder b = new StringBuilder();
        b.append(clean(m.workload())).append(',').append(clean(m.subject())).append(',')
                .append(m.repetition()).append(',').append(m.ok());
        for (Metric metric : Metric.values()) {
            b.append(',');
            double v = m.get(metric);
            if (!Double.isNaN(v)) {
                b.append(String.format(Locale.ROOT, "%.6g", v));
            }
        }
        return b.append(',').append(m.note().replace('\n', ' ')).toString();
    }

    /** Parses what {@link #header()} + {@link #line} wrote; columns are matched by the header's names. */
    public static List<Measurement> parse(List<String> lines) {
        if (lines.isEmpty()) {
            return List.of();
        }
        String[] head = lines.get(0).split(",", -1);
        List<Measurement> out = new ArrayList<>();
        for (String line : lines.subList(1, lines.size())) {
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.split(",", head.length);
            if (f.length < head.length) {
                throw new IllegalArgumentException("short CSV line: " + line);
            }
            Map<Metric, Double> values = new EnumMap<>(Metric.class);
            for (int i = FIXED; i < head.length - 1; i++) {
                if (!f[i].isEmpty()) {
                    values.put(Metric.ofKey(head[i]), Double.parseDouble(f[i]));
                }
            }
            out.add(new Measurement(f[0], f[1], Integer.parseInt(f[2]), Boolean.parseBoolean(f[3]),
                    f[head.length - 1], values));
        }
        return out;
    }

    private static String clean(String s) {
        return s.replace(',', ';');
    }
}
