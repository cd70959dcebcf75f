/**
 * What the benchmark does with its numbers, free of any process or kernel: the {@link
 * io.sockmap.bench.report.Metric metrics} one measurement records, the raw CSV they are kept in,
 * the medians and ratios ({@link io.sockmap.bench.report.Summary}), the markdown tables ({@link
 * io.sockmap.bench.report.MarkdownReport}) and the PNG chart ({@link io.sockmap.bench.report.Chart}).
 * Everything here except the chart is pure and unit-tested.
 */
package io.sockmap.bench.report;
