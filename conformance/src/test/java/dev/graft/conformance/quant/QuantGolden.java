package dev.graft.conformance.quant;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.conformance.SharedData;
import dev.graft.engine.quant.QDType;
import dev.graft.engine.quant.QScheme;
import dev.graft.engine.quant.QuantSpec;
import dev.graft.engine.quant.observe.HistogramObserver;
import dev.graft.engine.quant.observe.MinMaxObserver;
import dev.graft.engine.quant.observe.MovingAverageMinMaxObserver;
import dev.graft.engine.quant.observe.MovingAveragePerChannelMinMaxObserver;
import dev.graft.engine.quant.observe.Observer;
import dev.graft.engine.quant.observe.PerChannelMinMaxObserver;
import dev.graft.ops.Tensor;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Reads the golden obs_/qp_/q_/fq_ files and builds observers from their configuration blocks. */
final class QuantGolden {

    private static final ObjectMapper JSON = new ObjectMapper();

    private QuantGolden() {
    }

    /** The parsed vendored file. */
    static JsonNode load(String name) throws IOException {
        return JSON.readTree(SharedData.golden(name + ".json").toFile());
    }

    /** float32 numbers are written as the shortest double equal to the float: parse as double, cast. */
    static float[] floats(JsonNode array) {
        float[] out = new float[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) array.get(i).asDouble();
        }
        return out;
    }

    static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }

    static Tensor tensor(JsonNode t) {
        return Tensor.of(floats(t.get("data")), ints(t.get("shape")));
    }

    /**
     * The observer a config block describes. A range differing from the dtype's default (after reduce_range) is a
     * custom range; so is a label naming one (obs_05 "custom_range_symmetric_quint8_0_255" equals the default
     * numbers but was passed explicitly, which changes the symmetric quint8 zero point in PyTorch).
     */
    static Observer observer(JsonNode cfg, String label) {
        QDType dtype = cfg.get("dtype").asText().equals("quint8") ? QDType.QUINT8 : QDType.QINT8;
        QScheme scheme = QScheme.valueOf(cfg.get("qscheme").asText().toUpperCase());
        boolean reduce = cfg.get("reduce_range").asBoolean();
        int qmin = cfg.get("quant_min").asInt();
        int qmax = cfg.get("quant_max").asInt();
        QuantSpec spec = QuantSpec.of(dtype, scheme, reduce);
        if (spec.quantMin() != qmin || spec.quantMax() != qmax || label.contains("custom")) {
            spec = new QuantSpec(dtype, scheme, reduce, qmin, qmax, true, QuantSpec.DEFAULT_EPS, 0);
        }
        spec = spec.withEps((float) cfg.get("eps").asDouble());
        if (cfg.has("ch_axis")) {
            spec = spec.withAxis(cfg.get("ch_axis").asInt());
        }
        assertEquals(qmin, spec.quantMin(), "quant_min");
        assertEquals(qmax, spec.quantMax(), "quant_max");
        return switch (cfg.get("class").asText()) {
            case "MinMaxObserver" -> new MinMaxObserver(spec);
            case "MovingAverageMinMaxObserver" ->
                    new MovingAverageMinMaxObserver(spec, cfg.get("averaging_constant").asDouble());
            case "PerChannelMinMaxObserver" -> new PerChannelMinMaxObserver(spec);
            case "MovingAveragePerChannelMinMaxObserver" ->
                    new MovingAveragePerChannelMinMaxObserver(spec, cfg.get("averaging_constant").asDouble());
            case "HistogramObserver" -> new HistogramObserver(spec, cfg.get("bins").asInt(),
                    cfg.get("upsample_rate").asInt(), HistogramObserver.Bounds.PYTORCH_1_13_INT_TRUNCATED);
            default -> throw new IllegalArgumentException("unknown observer class " + cfg.get("class"));
        };
    }

    /** Float equality by bits, with both values in the message. */
    static void assertFloatsExact(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what + " length");
        for (int i = 0; i < expected.length; i++) {
            assertEquals(Float.floatToIntBits(expected[i]), Float.floatToIntBits(actual[i]),
                    what + "[" + i + "]: expected " + expected[i] + ", got " + actual[i]);
        }
    }
}
