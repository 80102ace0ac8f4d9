package dev.graft.models.nanodet;

import dev.graft.engine.Module;
import dev.graft.ops.F;
import dev.graft.ops.Tensor;

/**
 * NanoDet's input normalization as a traceable module: takes a [N,3,H,W] float image with RGB channels in
 * 0..255, optionally reverses the channels to BGR (NanoDet was trained on OpenCV's BGR images), then computes
 * {@code (x - mean) / std} per channel with the constants as buffers.
 */
public final class NanoDetPreprocess extends Module {
    /** NanoDet's training constants, in BGR order (from its configs' {@code normalize} entry). */
    public static final float[] BGR_MEAN = {103.53f, 116.28f, 123.675f};
    public static final float[] BGR_STD = {57.375f, 57.12f, 58.395f};

    private final boolean toBgr;
    private final Tensor mean;
    private final Tensor invStd;

    /** NanoDet's own normalization: RGB in, BGR out, {@link #BGR_MEAN} and {@link #BGR_STD}. */
    public NanoDetPreprocess() {
        this(true, BGR_MEAN, BGR_STD);
    }

    /**
     * @param toBgr reverse the channel order first
     * @param mean  per-channel mean, in the order after the optional reversal
     * @param std   per-channel standard deviation, same order
     */
    public NanoDetPreprocess(boolean toBgr, float[] mean, float[] std) {
        if (mean.length != 3 || std.length != 3) {
            throw new IllegalArgumentException("mean and std need 3 values each");
        }
        this.toBgr = toBgr;
        float[] inv = new float[3];
        for (int c = 0; c < 3; c++) {
            inv[c] = 1f / std[c];
        }
        this.mean = registerBuffer("mean", Tensor.of(mean, 1, 3, 1, 1));
        this.invStd = registerBuffer("inv_std", Tensor.of(inv, 1, 3, 1, 1));
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        Tensor x = single(inputs);
        if (toBgr) {
            Tensor[] c = F.split(x, new int[] {1, 1, 1}, 1);
            x = F.cat(new Tensor[] {c[2], c[1], c[0]}, 1);
        }
        return x.sub(mean).mul(invStd);
    }

    @Override
    protected String extraRepr() {
        return (toBgr ? "rgb->bgr, " : "") + "mean=" + java.util.Arrays.toString(mean.toFloatArray());
    }
}
