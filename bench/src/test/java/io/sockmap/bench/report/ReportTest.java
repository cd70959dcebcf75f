package io.sockmap.bench.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class ReportTest {

    @Test
    void medianOfOddEvenAndMissingValues() {
        assertEquals(2.0, Stats.median(List.of(3.0, 1.0, 2.0)));
        assertEquals(2.5, Stats.median(List.of(4.0, 1.0, 2.0, 3.0)));
        assertEquals(5.0, Stats.median(List.of(Double.NaN, 5.0)));
        assertTrue(Double.isNaN(Stats.median(List.of())));
        assertTrue(Double.isNaN(Stats.ratio(1, 0)));
        assertEquals(0.5, Stats.ratio(1, 2));
    }

    private static Measurement m(String subject, int rep, double gbps, boolean ok) {
        return new Measurement("bulk-1", subject, rep, ok, ok ? "" : "boom", Map.of(Metric.GBPS, gbps,
                Metric.MACHINE_CPU_S_PER_GB, 1.0));
    }

    private static List<Measurement> sample() {
        List<Measurement> ms = new ArrayList<>();
        double[][] gbps = {{10, 12, 11}, {5, 4, 6}, {9, 10, 9.5}};
        String[] subjects = {"direct", "TP", "TP+agent"};
        for (int rep = 0; rep < 3; rep++) {
            for (int s = 0; s < 3; s++) {
                ms.add(m(subjects[s], rep + 1, gbps[s][rep], true));
            }
        }
        ms.add(m("TP+agent", 4, 0.1, false));   // failed run: not in the median
        return ms;
    }

    @Test
    void ratiosToDirectAndToTheProxyWithoutAgent() {
        Summary s = Summary.of(sample());
        assertEquals(11.0, s.median("bulk-1", "direct", Metric.GBPS));
        assertEquals(9.5, s.median("bulk-1", "TP+agent", Metric.GBPS));
        assertEquals(9.5 / 11, s.ratioToDirect("bulk-1", "TP+agent", Metric.GBPS), 1e-9);
        assertEquals(9.5 / 5, s.ratioToBaseline("bulk-1", "TP+agent", Metric.GBPS), 1e-9);
        assertTrue(Double.isNaN(s.ratioToBaseline("bulk-1", "TP", Metric.GBPS)));
        assertEquals(3, s.okRuns("bulk-1", "TP+agent"));
        assertEquals(4, s.allRuns("bulk-1", "TP+agent"));
        assertEquals("TP", Summary.baselineOf("TP+agent(minBytes=16k)"));
        assertNull(Summary.baselineOf("haproxy-splice"));
    }

    @Test
    void markdownTableHasOneRowPerSubjectAndListsFailures() {
        TableSpec spec = new TableSpec("bulk-1", "Bulk", Metric.GBPS, List.of(Metric.MACHINE_CPU_S_PER_GB),
                List.of(Metric.MACHINE_CPU_S_PER_GB));
        String md = MarkdownReport.render(Summary.of(sample()), List.of(spec));
        assertTrue(md.contains("| configuration | Gbit/s | x direct | x no agent | machine CPU s/GB | x direct | runs ok |"), md);
        assertTrue(md.contains("| direct | 11.00 | 1.00x | - | 1.00 | 1.00x | 3/3 |"), md);
        assertTrue(md.contains("| TP+agent | 9.50 | 0.86x | 1.90x | 1.00 | 1.00x | 3/4 |"), md);
        assertTrue(md.contains("- TP+agent #4: boom"), md);
    }

    @Test
    void csvRoundTrip() {
        List<Measurement> ms = sample();
        List<String> lines = new ArrayList<>();
        lines.add(MeasurementCsv.header());
        for (Measurement m : ms) {
            lines.add(MeasurementCsv.line(m));
        }
        List<Measurement> back = MeasurementCsv.parse(lines);
        assertEquals(ms.size(), back.size());
        assertEquals(ms.get(4).get(Metric.GBPS), back.get(4).get(Metric.GBPS));
        assertEquals("boom", back.get(ms.size() - 1).note());
        assertTrue(Double.isNaN(back.get(0).get(Metric.RPS)));
        assertEquals(Summary.of(ms).median("bulk-1", "TP", Metric.GBPS),
                Summary.of(back).median("bulk-1", "TP", Metric.GBPS));
    }
}
