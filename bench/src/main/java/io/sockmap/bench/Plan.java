package io.sockmap.bench;

/**
 * Durations and sizes of one benchmark run.
 *
 * @param repetitions     runs of every (workload, subject) pair, interleaved
 * @param bulkSeconds     sending time of a bulk run
 * @param rrSeconds       measured window of a request/response run (after its warm-up)
 * @param rrWarmupSeconds warm-up of a request/response run, after the connections are open, and of a
 *                        short-connection run
 * @param manyConnections connections of the large request/response run (10,000)
 * @param shortSeconds    measured window of a short-connection run (after its warm-up)
 * @param shortConcurrency client threads of a short-connection run
 */
record Plan(int repetitions, double bulkSeconds, double rrSeconds, double rrWarmupSeconds, int manyConnections,
            double shortSeconds, int shortConcurrency) {

    static Plan full() {
        return new Plan(3, 3, 3, 1, 10_000, 3, 8);
    }

    static Plan quick() {
        return new Plan(1, 1, 1, 0.5, 1_000, 1, 8);
    }
}
