package dev.graft.engine.nn;

import dev.graft.engine.Module;
import dev.graft.ops.F;
import dev.graft.ops.Tensor;

import java.util.Arrays;

/** Average pooling to a fixed output size, whatever the input size. */
public class AdaptiveAvgPool2d extends Module {
    private final int[] outputSize;

    public AdaptiveAvgPool2d(int outputSize) {
        this(new int[] {outputSize, outputSize});
    }

    public AdaptiveAvgPool2d(int[] outputSize) {
        this.outputSize = outputSize.clone();
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        return F.adaptiveAvgPool2d(single(inputs), outputSize);
    }

    /** The operator arguments after the input, in the op's order (graph rewrites build quantized calls from them). */
    public Object[] operatorArgs() {
        return new Object[] {outputSize.clone()};
    }

    @Override
    protected String extraRepr() {
        return "output_size=" + Arrays.toString(outputSize);
    }
}
