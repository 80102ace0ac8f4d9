package dev.graft.ops;

import dev.graft.kernels.FloatGemm;
import dev.graft.kernels.PackedFloatWeights;
import dev.graft.kernels.VectorFloatGemm;

/**
 * FP32 linear weights packed once for the vector GEMM and kept with the weight's storage, so inference does not
 * repack a layer's {@code [out][in]} matrix on every call (the MiniLM profile had that at 52% of a batch-1 call).
 *
 * <p>Validity: the packed copy records the storage's {@link Storage#version} it was made from, and the offset and
 * size it covers; any in-place write ({@link InPlace}: optimizer steps, state-dict loads, BN folding) bumps the
 * version, so the next call repacks. Concurrent callers may both pack and one result wins; both are identical.
 * Training thus repacks once per optimizer step, which is what every call did before.
 */
final class PackedLinear {

    /** Rows from which packing pays; fewer take the GEMM's unpacked skinny path (as before). */
    private static final int MIN_ROWS = 5;

    private record Cached(int version, int offset, int n, int k, PackedFloatWeights weights) {
    }

    private PackedLinear() {
    }

    /** Whether {@code x2 [rows, in] @ w^T} can use the packed path: vector GEMM, unit-stride rows, dense weight. */
    static boolean applies(int rows, Tensor x2, Tensor w, FloatGemm gemm) {
        return rows >= MIN_ROWS && gemm instanceof VectorFloatGemm && x2.strides[1] == 1
                && w.strides[0] == w.shape[1] && w.strides[1] == 1 && w.shape[1] > 0;
    }

    /** The packed form of {@code w} for its current values. */
    static PackedFloatWeights of(Tensor w) {
        Storage s = w.storage;
        int version = s.version;
        int n = w.shape[0];
        int k = w.shape[1];
        if (s.derived instanceof Cached c && c.version == version && c.offset == w.offset && c.n == n && c.k == k) {
            return c.weights;
        }
        PackedFloatWeights packed = PackedFloatWeights.pack(s.floats, w.offset, n, k);
        s.derived = new Cached(version, w.offset, n, k, packed);
        return packed;
    }
}
