package dev.graft.conformance.quant;

import com.fasterxml.jackson.databind.JsonNode;
import dev.graft.engine.quant.QuantSpec;
import dev.graft.engine.quant.observe.HistogramObserver;
import dev.graft.ops.QParams;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;

import static dev.graft.conformance.quant.QuantGolden.assertFloatsExact;
import static dev.graft.conformance.quant.QuantGolden.floats;
import static dev.graft.conformance.quant.QuantGolden.ints;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * obs_10 and obs_11: the 1.13 mode against {@code expected} (state, all 2048 bins, search bounds, qparams, bit for
 * bit) and the float-bounds mode against {@code emulated_float_histc_bounds}.
 */
class GoldenHistogramTest {

    @ParameterizedTest(name = "{0} (1.13 int-truncated bounds)")
    @ValueSource(strings = {"obs_10_histogram_quint8_reduce_range", "obs_11_histogram_wide_range_histc_int_quirk"})
    void pytorch113ModeMatchesExpected(String name) throws IOException {
        JsonNode g = QuantGolden.load(name);
        HistogramObserver obs = (HistogramObserver) QuantGolden.observer(g.get("observer"), name);
        feed(g, obs);
        JsonNode expected = g.get("expected");
        JsonNode state = expected.get("state");
        assertFloatsExact(floats(state.get("min_val")), obs.minVal(), "min_val");
        assertFloatsExact(floats(state.get("max_val")), obs.maxVal(), "max_val");
        assertFloatsExact(floats(state.get("histogram")), obs.histogram(), "histogram");
        assertEquals(expected.get("histogram_total_1_13").asDouble(), total(obs.histogram()), 0.0, "histogram total");
        float[] range = obs.searchRange();
        assertFloatsExact(new float[] {(float) state.get("search_min").asDouble(),
                (float) state.get("search_max").asDouble()}, range, "search range");
        QParams q = obs.calculateQParams();
        assertFloatsExact(floats(expected.get("scale")), q.scales(), "scale");
        assertArrayEquals(ints(expected.get("zero_point")), q.zeroPoints(), "zero_point");
    }

    @ParameterizedTest(name = "{0} (float bounds)")
    @ValueSource(strings = {"obs_10_histogram_quint8_reduce_range", "obs_11_histogram_wide_range_histc_int_quirk"})
    void floatBoundsModeMatchesEmulation(String name) throws IOException {
        JsonNode g = QuantGolden.load(name);
        HistogramObserver probe = (HistogramObserver) QuantGolden.observer(g.get("observer"), name);
        QuantSpec spec = probe.spec();
        HistogramObserver obs = new HistogramObserver(spec);
        assertEquals(HistogramObserver.Bounds.FLOAT, obs.bounds());
        feed(g, obs);
        JsonNode emulated = g.get("expected").get("emulated_float_histc_bounds");
        assertEquals(emulated.get("histogram_total").asDouble(), total(obs.histogram()), 0.0, "histogram total");
        assertEquals(g.get("expected").get("n_samples").asInt(), (int) total(obs.histogram()));
        QParams q = obs.calculateQParams();
        assertFloatsExact(floats(emulated.get("scale")), q.scales(), "scale");
        assertArrayEquals(ints(emulated.get("zero_point")), q.zeroPoints(), "zero_point");
    }

    private static void feed(JsonNode g, HistogramObserver obs) {
        for (JsonNode batch : g.get("inputs").get("batches")) {
            obs.observe(QuantGolden.tensor(batch));
        }
    }

    private static double total(float[] h) {
        double s = 0;
        for (float v : h) {
            s += v;
        }
        return s;
    }
}
