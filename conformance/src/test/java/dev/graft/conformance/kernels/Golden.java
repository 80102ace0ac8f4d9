package dev.graft.conformance.kernels;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.conformance.SharedData;

import java.io.IOException;

/** Reads the golden k_* files: float32 numbers as double then float, quantized tensors as their int_repr. */
final class Golden {

    private static final ObjectMapper JSON = new ObjectMapper();

    private Golden() {
    }

    /** The parsed vendored file. */
    static JsonNode load(String name) throws IOException {
        return JSON.readTree(SharedData.golden(name + ".json").toFile());
    }

    static float[] floats(JsonNode tensor) {
        JsonNode data = tensor.get("data");
        float[] out = new float[data.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) data.get(i).asDouble();
        }
        return out;
    }

    static byte[] bytes(JsonNode tensor) {
        JsonNode data = tensor.get("data");
        byte[] out = new byte[data.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) data.get(i).asInt();
        }
        return out;
    }

    static int[] unsigned(byte[] values) {
        int[] out = new int[values.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = values[i] & 0xFF;
        }
        return out;
    }

    static int[] ints(JsonNode tensor) {
        JsonNode data = tensor.get("data");
        int[] out = new int[data.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = data.get(i).asInt();
        }
        return out;
    }

    static int dim(JsonNode tensor, int axis) {
        return tensor.get("shape").get(axis).asInt();
    }

    /** Per-channel scales as float32, or the per-tensor scale as a one-element array. */
    static float[] scales(JsonNode qtensor) {
        if (qtensor.has("scales")) {
            return floats(qtensor.get("scales").isArray() ? wrap(qtensor.get("scales")) : qtensor.get("scales"));
        }
        return new float[] {(float) qtensor.get("scale").asDouble()};
    }

    static int[] zeroPoints(JsonNode qtensor) {
        if (qtensor.has("zero_points")) {
            JsonNode z = qtensor.get("zero_points");
            int[] out = new int[z.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = z.get(i).asInt();
            }
            return out;
        }
        return new int[] {qtensor.get("zero_point").asInt()};
    }

    private static JsonNode wrap(JsonNode array) {
        return JSON.createObjectNode().set("data", array);
    }
}
