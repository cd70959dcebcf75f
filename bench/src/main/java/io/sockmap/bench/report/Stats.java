package io.sockmap.bench.report;

import java.util.Arrays;
import java.util.Collection;

/** Medians and ratios; NaN stands for "not measured" and is ignored by {@link #median}. */
public final class Stats {

    private Stats() {
    }

    /** The median of the non-NaN values (mean of the two middle ones for an even count); NaN if none. */
    public static double median(Collection<Double> values) {
        double[] v = values.stream().filter(d -> d != null && !Double.isNaN(d)).mapToDouble(Double::doubleValue).toArray();
        if (v.length == 0) {
            return Double.NaN;
        }
        Arrays.sort(v);
        int mid = v.length / 2;
        return v.length % 2 == 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
    }

    /** {@code value / reference}; NaN when either is NaN or the reference is 0. */
    public static double ratio(double value, double reference) {
        if (Double.isNaN(value) || Double.isNaN(reference) || reference == 0) {
            return Double.NaN;
        }
        return value / reference;
    }
}
