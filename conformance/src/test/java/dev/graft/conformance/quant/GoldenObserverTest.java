package dev.graft.conformance.quant;

import com.fasterxml.jackson.databind.JsonNode;
import dev.graft.engine.quant.observe.Observer;
import dev.graft.kernels.DynamicQuantization;
import dev.graft.ops.QParams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import static dev.graft.conformance.quant.QuantGolden.assertFloatsExact;
import static dev.graft.conformance.quant.QuantGolden.floats;
import static dev.graft.conformance.quant.QuantGolden.ints;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The min/max observer golden cases (obs_01..09) and qp_12, exactly: state and scales compared as float bits, zero
 * points as ints.
 */
class GoldenObserverTest {

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"obs_01_minmax_affine_quint8", "obs_02_minmax_affine_quint8_reduce_range",
            "obs_03_minmax_symmetric_qint8", "obs_04_minmax_symmetric_quint8", "obs_06_moving_average_minmax",
            "obs_07_per_channel_symmetric_qint8", "obs_08_per_channel_affine_quint8",
            "obs_09_moving_average_per_channel"})
    void observerMatchesPytorch(String name) throws IOException {
        JsonNode g = QuantGolden.load(name);
        Observer obs = QuantGolden.observer(g.get("observer"), name);
        for (JsonNode batch : g.get("inputs").get("batches")) {
            obs.observe(QuantGolden.tensor(batch));
        }
        JsonNode expected = g.get("expected");
        assertFloatsExact(floats(expected.get("state").get("min_val")), obs.minVal(), name + " min_val");
        assertFloatsExact(floats(expected.get("state").get("max_val")), obs.maxVal(), name + " max_val");
        QParams q = obs.calculateQParams();
        assertFloatsExact(floats(expected.get("scale")), q.scales(), name + " scale");
        assertArrayEquals(ints(expected.get("zero_point")), q.zeroPoints(), name + " zero_point");
        assertEquals(g.get("observer").get("quant_min").asInt(), obs.spec().quantMin());
        assertEquals(g.get("observer").get("quant_max").asInt(), obs.spec().quantMax());
        assertEquals(g.get("inputs").get("batches").size(), obs.observedCount());
    }

    @Test
    void minMaxEdgeCasesMatchPytorch() throws IOException {
        JsonNode g = QuantGolden.load("obs_05_minmax_edge_cases");
        int checked = 0;
        for (JsonNode c : g.get("cases")) {
            String label = c.get("label").asText();
            Observer obs = QuantGolden.observer(c.get("observer"), label);
            obs.observe(QuantGolden.tensor(c.get("input")));
            assertFloatsExact(new float[] {(float) c.get("min_val").asDouble()}, obs.minVal(), label + " min_val");
            assertFloatsExact(new float[] {(float) c.get("max_val").asDouble()}, obs.maxVal(), label + " max_val");
            QParams q = obs.calculateQParams();
            assertFloatsExact(floats(c.get("scale")), q.scales(), label + " scale");
            assertArrayEquals(ints(c.get("zero_point")), q.zeroPoints(), label + " zero_point");
            checked++;
        }
        assertEquals(g.get("cases").size(), checked);
        assertTrue(checked > 0, "the file holds cases");
    }

    /**
     * Dynamic quantization chooses activation qparams per call in the kernel (fbgemm's ChooseQuantizationParams in
     * double), not through an observer: PyTorch's dynamic qconfig uses a placeholder observer there too. So qp_12
     * is checked against {@link DynamicQuantization#chooseParams}, the one implementation the engine uses.
     */
    @Test
    void dynamicChooseParamsMatchesPytorch() throws IOException {
        JsonNode g = QuantGolden.load("qp_12_choose_qparams_dynamic");
        List<String> failures = new ArrayList<>();
        for (JsonNode c : g.get("cases")) {
            DynamicQuantization.Params p = DynamicQuantization.chooseParams((float) c.get("min").asDouble(),
                    (float) c.get("max").asDouble(), c.get("reduce_range").asBoolean());
            if (Double.doubleToLongBits(c.get("scale_double").asDouble()) != Double.doubleToLongBits(p.scale())
                    || c.get("zero_point").asInt() != p.zeroPoint()) {
                failures.add(c.get("label").asText() + ": " + p);
            }
        }
        assertEquals(List.of(), failures);
    }
}
