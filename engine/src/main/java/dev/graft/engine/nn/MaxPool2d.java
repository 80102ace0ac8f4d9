package dev.graft.engine.nn;

import dev.graft.engine.Module;
import dev.graft.ops.F;
import dev.graft.ops.Tensor;

import java.util.Arrays;

/** Max pooling over NCHW windows. */
public class MaxPool2d extends Module {
    private final int[] kernel;
    private final int[] stride;
    private final int[] padding;
    private final int[] dilation;
    private final boolean ceilMode;

    /** Stride defaults to the kernel size, as PyTorch. */
    public MaxPool2d(int kernel) {
        this(kernel, kernel, 0);
    }

    public MaxPool2d(int kernel, int stride, int padding) {
        this(new int[] {kernel, kernel}, new int[] {stride, stride}, new int[] {padding, padding}, new int[] {1, 1},
                false);
    }

    public MaxPool2d(int[] kernel, int[] stride, int[] padding, int[] dilation, boolean ceilMode) {
        this.kernel = kernel.clone();
        this.stride = stride.clone();
        this.padding = padding.clone();
        this.dilation = dilation.clone();
        this.ceilMode = ceilMode;
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        return F.maxPool2d(single(inputs), kernel, stride, padding, dilation, ceilMode);
    }

    /** The operator arguments after the input, in the op's order (graph rewrites build quantized calls from them). */
    public Object[] operatorArgs() {
        return new Object[] {kernel.clone(), stride.clone(), padding.clone(), dilation.clone(), ceilMode};
    }

    @Override
    protected String extraRepr() {
        return "kernel=" + Arrays.toString(kernel) + ", stride=" + Arrays.toString(stride) + ", padding="
                + Arrays.toString(padding) + (ceilMode ? ", ceil_mode=true" : "");
    }
}
