/**
 * The benchmark harness ({@code bash scripts/bench.sh}): starts the backends and every
 * configuration under test (direct, the {@link io.sockmap.bench.ProxyTable Java proxies} without
 * and with {@code -javaagent:}, HAProxy without and with splice), then runs each {@link
 * io.sockmap.bench.Workload load} against each configuration, interleaved and repeated, sampling
 * CPU time and memory from /proc ({@link io.sockmap.bench.ProcFs}, {@link io.sockmap.bench.Sampler}).
 * The numbers go to {@link io.sockmap.bench.report}, which computes medians and ratios and writes
 * the tables and the chart. Not part of the test suite: only the pure parts are unit-tested.
 */
package io.sockmap.bench;
