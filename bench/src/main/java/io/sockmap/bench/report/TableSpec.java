package io.sockmap.bench.report;

import java.util.List;

/**
 * How one workload is shown: its id (as in the raw data), a title, the primary metric (the one
 * ratios and the chart use), the further columns, and which columns also get an "x direct" ratio.
 */
public record TableSpec(String workload, String title, Metric primary, List<Metric> columns,
                        List<Metric> ratioToDirect) {

    public TableSpec {
        columns = List.copyOf(columns);
        ratioToDirect = List.copyOf(ratioToDirect);
    }
}
