package dev.graft.engine.nn;

import dev.graft.engine.Module;
import dev.graft.ops.F;
import dev.graft.ops.Tensor;

import java.util.Arrays;

/** Average pooling over NCHW windows. */
public class AvgPool2d extends Module {
    private final int[] kernel;
    private final int[] stride;
    private final int[] padding;
    private final boolean ceilMode;
    private final boolean countIncludePad;

    /** Stride defaults to the kernel size, as PyTorch. */
    public AvgPool2d(int kernel) {
        this(kernel, kernel, 0);
    }

    public AvgPool2d(int kernel, int stride, int padding) {
        this(new int[] {kernel, kernel}, new int[] {stride, stride}, new int[] {padding, padding}, false, true);
    }

    public AvgPool2d(int[] kernel, int[] stride, int[] padding, boolean ceilMode, boolean countIncludePad) {
        this.kernel = kernel.clone();
        this.stride = stride.clone();
        this.padding = padding.clone();
        this.ceilMode = ceilMode;
        this.countIncludePad = countIncludePad;
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        return F.avgPool2d(single(inputs), kernel, stride, padding, ceilMode, countIncludePad);
    }

    /** The operator arguments after the input, in the op's order (graph rewrites build quantized calls from them). */
    public Object[] operatorArgs() {
        return new Object[] {kernel.clone(), stride.clone(), padding.clone(), ceilMode, countIncludePad};
    }

    @Override
    protected String extraRepr() {
        return "kernel=" + Arrays.toString(kernel) + ", stride=" + Arrays.toString(stride) + ", padding="
                + Arrays.toString(padding);
    }
}
