package io.sockmap.bench.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Renders a {@link Summary} as one markdown table per workload: the primary metric, its ratio to
 * direct and to the same proxy without the agent, then the other columns (medians), some with a
 * ratio to direct, and the count of OK runs.
 */
public final class MarkdownReport {

    private MarkdownReport() {
    }

    /** A ratio as printed: {@code 0.94x}; NaN as "-". */
    public static String ratio(double r) {
        return Double.isNaN(r) ? "-" : String.format(Locale.ROOT, "%.2fx", r);
    }

    public static String render(Summary summary, List<TableSpec> specs) {
        StringBuilder out = new StringBuilder();
        for (TableSpec spec : specs) {
            List<String> subjects = summary.subjects(spec.workload());
            if (subjects.isEmpty()) {
                continue;
            }
            out.append("### ").append(spec.title()).append("\n\n");
            out.append(table(summary, spec, subjects));
            List<String> failures = summary.failures(spec.workload());
            if (!failures.isEmpty()) {
                out.append("\nFailed runs (left out of the medians):\n\n");
                for (String f : failures) {
                    out.append("- ").append(f.replace('\n', ' ')).append('\n');
                }
            }
            out.append('\n');
        }
        return out.toString();
    }

    static String table(Summary summary, TableSpec spec, List<String> subjects) {
        List<String> header = new ArrayList<>();
        header.add("configuration");
        header.add(spec.primary().label());
        header.add("x direct");
        header.add("x no agent");
        for (Metric m : spec.columns()) {
            header.add(m.label());
            if (spec.ratioToDirect().contains(m)) {
                header.add("x direct");
            }
        }
        header.add("runs ok");
        List<List<String>> rows = new ArrayList<>();
        String w = spec.workload();
        for (String s : subjects) {
            List<String> row = new ArrayList<>();
            row.add(s);
            row.add(spec.primary().format(summary.median(w, s, spec.primary())));
            row.add(ratio(summary.ratioToDirect(w, s, spec.primary())));
            row.add(ratio(summary.ratioToBaseline(w, s, spec.primary())));
            for (Metric m : spec.columns()) {
                row.add(m.format(summary.median(w, s, m)));
                if (spec.ratioToDirect().contains(m)) {
                    row.add(ratio(summary.ratioToDirect(w, s, m)));
                }
            }
            row.add(summary.okRuns(w, s) + "/" + summary.allRuns(w, s));
            rows.add(row);
        }
        StringBuilder out = new StringBuilder();
        line(out, header);
        List<String> rule = new ArrayList<>();
        for (int i = 0; i < header.size(); i++) {
            rule.add(i == 0 ? "---" : "---:");
        }
        line(out, rule);
        for (List<String> row : rows) {
            line(out, row);
        }
        return out.toString();
    }

    private static void line(StringBuilder out, List<String> cells) {
        out.append('|');
        for (String c : cells) {
            out.append(' ').append(c.replace("|", "\\|")).append(" |");
        }
        out.append('\n');
    }
}
