package dev.graft.engine.quant.report;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The worst-layers table stays aligned whatever the layer names and kinds ("FusedReLU" was wider than its column). */
class LayerErrorTableTest {
    @Test
    void columnsStayAlignedAfterLongKinds() {
        List<LayerErrorReport.Row> rows = List.of(
                new LayerErrorReport.Row("exit_head.2", "Linear", 36.58, 0.03252, 4),
                new LayerErrorReport.Row("block2.0.0", "FusedReLU", 40.45, 0.06689, 4),
                new LayerErrorReport.Row("s", "QuantizedLinearFloatOut", 140.5, 12345.678, 4));
        List<String> lines = LayerErrorReport.table(rows, 8).lines().toList();
        assertEquals(4, lines.size());
        int sqnrEnd = lines.get(0).indexOf("SQNR dB") + "SQNR dB".length();
        int kindStart = lines.get(0).indexOf("FP32 was");
        for (int i = 1; i < lines.size(); i++) {
            String line = lines.get(i);
            assertEquals(lines.get(0).length(), line.length(), "same width as the header:\n" + String.join("\n", lines));
            assertEquals(rows.get(i - 1).kind(), line.substring(kindStart).split(" ")[0], line);
            assertEquals(' ', line.charAt(sqnrEnd), line);
            assertEquals(String.format(java.util.Locale.ROOT, "%.2f", rows.get(i - 1).sqnrDb()),
                    line.substring(0, sqnrEnd).trim().replaceAll(".* ", ""), line);
        }
    }
}
