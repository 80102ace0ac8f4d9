package dev.graft.ops;

import java.util.Arrays;

/**
 * Quantization parameters: {@code real = scale * (q - zeroPoint)}. Scales are float32, as the fbgemm kernels use
 * {@code float(scale)}. The one qparams type of Graft: tensors carry it, observers compute it, converted modules and
 * saved files hold it; the integer range a value is clamped to belongs to what quantizes (the engine's
 * {@code QuantSpec}), not to the parameters.
 */
public sealed interface QParams {

    /** The scales: one per channel, or the one of a per-tensor record. */
    float[] scales();

    /** One zero point per scale. */
    int[] zeroPoints();

    /** One scale and zero point for the whole tensor. */
    record PerTensor(float scale, int zeroPoint) implements QParams {
        public PerTensor {
            if (!(scale > 0f) || Float.isInfinite(scale)) {
                throw new IllegalArgumentException("quantization scale must be finite and > 0, got " + scale);
            }
        }

        @Override
        public float[] scales() {
            return new float[] {scale};
        }

        @Override
        public int[] zeroPoints() {
            return new int[] {zeroPoint};
        }
    }

    /** One scale and zero point per slice along {@code axis} (per output channel for weights). */
    record PerChannel(float[] scales, int[] zeroPoints, int axis) implements QParams {
        public PerChannel {
            if (scales.length != zeroPoints.length) {
                throw new IllegalArgumentException("per-channel qparams: " + scales.length + " scales but "
                        + zeroPoints.length + " zero points");
            }
            for (int i = 0; i < scales.length; i++) {
                if (!(scales[i] > 0f) || Float.isInfinite(scales[i])) {
                    throw new IllegalArgumentException("per-channel qparams: scale[" + i + "] must be finite and > 0, got "
                            + scales[i]);
                }
            }
            if (axis < 0) {
                throw new IllegalArgumentException("per-channel qparams: axis must be >= 0, got " + axis);
            }
            scales = scales.clone();
            zeroPoints = zeroPoints.clone();
        }

        public int channels() {
            return scales.length;
        }

        @Override
        public float[] scales() {
            return scales.clone();
        }

        @Override
        public int[] zeroPoints() {
            return zeroPoints.clone();
        }

        public float scale(int channel) {
            return scales[channel];
        }

        public int zeroPoint(int channel) {
            return zeroPoints[channel];
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof PerChannel p && axis == p.axis && Arrays.equals(scales, p.scales)
                    && Arrays.equals(zeroPoints, p.zeroPoints);
        }

        @Override
        public int hashCode() {
            return 31 * (31 * Arrays.hashCode(scales) + Arrays.hashCode(zeroPoints)) + axis;
        }

        @Override
        public String toString() {
            return "PerChannel[axis=" + axis + ", scales=" + Arrays.toString(scales) + ", zeroPoints="
                    + Arrays.toString(zeroPoints) + "]";
        }
    }
}
