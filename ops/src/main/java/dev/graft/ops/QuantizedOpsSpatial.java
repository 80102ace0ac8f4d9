package dev.graft.ops;

import java.util.Arrays;

/**
 * Constant padding and bilinear upsampling on quint8 integers, for {@link QuantizedOps#PAD} and
 * {@link QuantizedOps#UPSAMPLE_BILINEAR2D}. Both keep the input's qparams.
 */
final class QuantizedOpsSpatial {

    private QuantizedOpsSpatial() {
    }

    /**
     * {@code pad(x, pads, value)} as {@link MovementOps#PAD} (pairs from the last dimension; negative pads crop),
     * the new elements set to {@code quantize(value)} (so {@code 0.0} pads with the zero point and {@code -inf} with
     * 0, the smallest value, which is what a max pooling after it needs).
     */
    static Tensor pad(String op, Tensor x, QParams.PerTensor q, int[] pads, float value) {
        int rank = x.shape.length;
        if (pads.length % 2 != 0 || pads.length / 2 > rank) {
            throw new ShapeException(op + ": " + pads.length + " pad values " + Arrays.toString(pads)
                    + " for a tensor of shape " + Arrays.toString(x.shape) + " (need pairs, at most 2 per dim)");
        }
        int[] before = new int[rank];
        int[] shape = x.shape.clone();
        for (int i = 0; i < pads.length / 2; i++) {
            int d = rank - 1 - i;
            before[d] = pads[2 * i];
            shape[d] = x.shape[d] + pads[2 * i] + pads[2 * i + 1];
            if (shape[d] < 0) {
                throw new ShapeException(op + ": pads " + Arrays.toString(pads) + " make dimension " + d
                        + " of shape " + Arrays.toString(x.shape) + " negative");
            }
        }
        byte[] in = QuantizedOps.bytesOf(x);
        byte[] out = new byte[Shapes.numel(op, shape)];
        byte fill = (byte) QuantOps.quantize(value, q.scale(), q.zeroPoint(), 0, 255);
        Arrays.fill(out, fill);
        if (rank == 0) {
            System.arraycopy(in, 0, out, 0, in.length);
            return QuantizedOps.quint8(out, shape, q);
        }
        int last = rank - 1;
        int srcStart = Math.max(0, -before[last]);
        int dstStart = Math.max(0, before[last]);
        int len = Math.min(x.shape[last] - srcStart, shape[last] - dstStart);
        if (len <= 0 || out.length == 0) {
            return QuantizedOps.quint8(out, shape, q);
        }
        // One output row (last dimension) at a time: its source row, if inside the input, is copied in one piece.
        int rows = out.length / shape[last];
        int[] idx = new int[last];
        for (int row = 0; row < rows; row++) {
            int src = 0;
            boolean inside = true;
            for (int d = 0; d < last; d++) {
                int s = idx[d] - before[d];
                if (s < 0 || s >= x.shape[d]) {
                    inside = false;
                    break;
                }
                src = src * x.shape[d] + s;
            }
            if (inside) {
                System.arraycopy(in, src * x.shape[last] + srcStart, out, row * shape[last] + dstStart, len);
            }
            for (int d = last - 1; d >= 0; d--) {
                if (++idx[d] < shape[d]) {
                    break;
                }
                idx[d] = 0;
            }
        }
        return QuantizedOps.quint8(out, shape, q);
    }

    /**
     * ATen's {@code quantized upsample_bilinear2d} (output qparams = input qparams), with its float32 arithmetic:
     * <pre>
     *   scale  = align ? (in-1)/(out-1) : in/out                 (float; 0 for out = 1 with align)
     *   src    = align ? scale*dst : max(scale*(dst + 0.5f) - 0.5f, 0)
     *   i0     = (int) src,  step = i0 < in-1 ? 1 : 0,  l1 = src - i0,  l0 = 1 - l1
     *   r      = h0*(w0*q00 + w1*q01) + h1*(w0*q10 + w1*q11) - zp
     *   q      = clamp(zp + rint(r), 0, 255)                      (quantize_val with scale ratio 1)
     * </pre>
     */
    static Tensor upsampleBilinear(String op, Tensor x, QParams.PerTensor q, int[] size, boolean alignCorners) {
        if (x.shape.length != 4) {
            throw new ShapeException(op + ": needs a 4-d [N,C,H,W] input, got shape " + Arrays.toString(x.shape));
        }
        int[] out2 = LinalgOps.pair(op, "output_size", size);
        int oh = out2[0];
        int ow = out2[1];
        int h = x.shape[2];
        int w = x.shape[3];
        if (oh < 1 || ow < 1 || h < 1 || w < 1) {
            throw new ShapeException(op + ": sizes must be >= 1, got input " + Arrays.toString(x.shape)
                    + " and output " + Arrays.toString(out2));
        }
        Axis rows = Axis.of(h, oh, alignCorners);
        Axis cols = Axis.of(w, ow, alignCorners);
        byte[] in = QuantizedOps.bytesOf(x);
        int planes = x.shape[0] * x.shape[1];
        byte[] out = new byte[planes * oh * ow];
        int zp = q.zeroPoint();
        int o = 0;
        for (int plane = 0; plane < planes; plane++) {
            int base = plane * h * w;
            for (int y = 0; y < oh; y++) {
                int r0 = base + rows.index[y] * w;
                int r1 = r0 + rows.step[y] * w;
                float h0 = rows.lambda0[y];
                float h1 = rows.lambda1[y];
                for (int xo = 0; xo < ow; xo++, o++) {
                    int c0 = cols.index[xo];
                    int c1 = c0 + cols.step[xo];
                    float w0 = cols.lambda0[xo];
                    float w1 = cols.lambda1[xo];
                    float r = h0 * (w0 * (in[r0 + c0] & 0xFF) + w1 * (in[r0 + c1] & 0xFF))
                            + h1 * (w0 * (in[r1 + c0] & 0xFF) + w1 * (in[r1 + c1] & 0xFF)) - zp;
                    out[o] = (byte) QuantizedOps.clampU8(zp + (long) Math.rint(r));
                }
            }
        }
        return QuantizedOps.quint8(out, new int[] {x.shape[0], x.shape[1], oh, ow}, q);
    }

    /** Source index, step to the next source element and the two weights, per output position of one axis. */
    private record Axis(int[] index, int[] step, float[] lambda0, float[] lambda1) {
        static Axis of(int in, int out, boolean alignCorners) {
            float scale = alignCorners ? (out > 1 ? (float) (in - 1) / (out - 1) : 0f) : (float) in / out;
            Axis a = new Axis(new int[out], new int[out], new float[out], new float[out]);
            for (int dst = 0; dst < out; dst++) {
                float src = alignCorners ? scale * dst : scale * (dst + 0.5f) - 0.5f;
                if (src < 0f) {
                    src = 0f;
                }
                int i0 = (int) src;
                a.index[dst] = i0;
                a.step[dst] = i0 < in - 1 ? 1 : 0;
                a.lambda1[dst] = src - i0;
                a.lambda0[dst] = 1f - a.lambda1[dst];
            }
            return a;
        }
    }
}
