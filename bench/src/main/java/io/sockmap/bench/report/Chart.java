package io.sockmap.bench.report;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.CategoryAxis;
import org.jfree.chart.axis.CategoryLabelPositions;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.data.category.DefaultCategoryDataset;

/**
 * The PNG chart: one group of bars per workload, one bar per configuration, height = the primary
 * metric's median as a ratio to direct (1.0 = as fast as a direct connection; the line).
 */
public final class Chart {

    private Chart() {
    }

    public static void write(Summary summary, List<TableSpec> specs, String title, Path png) throws IOException {
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        for (TableSpec spec : specs) {
            for (String s : summary.subjects(spec.workload())) {
                if (Summary.DIRECT.equals(s)) {
                    continue;
                }
                double r = summary.ratioToDirect(spec.workload(), s, spec.primary());
                data.addValue(Double.isNaN(r) ? null : r, s, spec.workload() + " (" + spec.primary().label() + ")");
            }
        }
        JFreeChart chart = ChartFactory.createBarChart(title, null, "x direct (median)", data,
                PlotOrientation.VERTICAL, true, false, false);
        chart.setBackgroundPaint(Color.WHITE);
        CategoryPlot plot = chart.getCategoryPlot();
        plot.setBackgroundPaint(Color.WHITE);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        ValueMarker one = new ValueMarker(1.0, Color.BLACK, new BasicStroke(1.5f));
        plot.addRangeMarker(one);
        CategoryAxis x = plot.getDomainAxis();
        x.setCategoryLabelPositions(CategoryLabelPositions.STANDARD);
        x.setMaximumCategoryLabelLines(2);
        BarRenderer r = (BarRenderer) plot.getRenderer();
        r.setBarPainter(new StandardBarPainter());
        r.setShadowVisible(false);
        r.setItemMargin(0.02);
        ChartUtils.saveChartAsPNG(png.toFile(), chart, 1600, 700);
    }
}
