package dev.graft.engine.nn;

import dev.graft.engine.Init;
import dev.graft.engine.Module;
import dev.graft.ops.F;
import dev.graft.ops.Tensor;

import java.util.Arrays;
import java.util.Random;

/** 2-d convolution over NCHW input; weight [out, in/groups, kh, kw]. Depthwise when groups == in == out. */
public class Conv2d extends Module {
    private final int inChannels;
    private final int outChannels;
    private final int[] kernel;
    private final int[] stride;
    private final int[] padding;
    private final int[] dilation;
    private final int groups;
    private final Tensor weight;
    private final Tensor bias;

    public Conv2d(int inChannels, int outChannels, int kernel, int stride, int padding) {
        this(inChannels, outChannels, new int[] {kernel, kernel}, new int[] {stride, stride},
                new int[] {padding, padding}, new int[] {1, 1}, 1, true, Init.nextGenerator());
    }

    public Conv2d(int inChannels, int outChannels, int kernel, int stride, int padding, int groups, boolean bias) {
        this(inChannels, outChannels, new int[] {kernel, kernel}, new int[] {stride, stride},
                new int[] {padding, padding}, new int[] {1, 1}, groups, bias, Init.nextGenerator());
    }

    public Conv2d(int inChannels, int outChannels, int[] kernel, int[] stride, int[] padding, int[] dilation,
                  int groups, boolean bias, Random rng) {
        if (inChannels <= 0 || outChannels <= 0 || groups <= 0 || inChannels % groups != 0
                || outChannels % groups != 0) {
            throw new IllegalArgumentException("Conv2d: channels in=" + inChannels + " out=" + outChannels
                    + " must be positive and divisible by groups=" + groups);
        }
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.kernel = kernel.clone();
        this.stride = stride.clone();
        this.padding = padding.clone();
        this.dilation = dilation.clone();
        this.groups = groups;
        int fanIn = inChannels / groups * kernel[0] * kernel[1];
        this.weight = registerParameter("weight",
                Init.kaimingUniform(rng, fanIn, outChannels, inChannels / groups, kernel[0], kernel[1]));
        this.bias = bias ? registerParameter("bias", Init.biasUniform(rng, fanIn, outChannels)) : null;
    }

    @Override
    protected Tensor forward(Tensor... inputs) {
        return F.conv2d(single(inputs), weight, bias, stride, padding, dilation, groups);
    }

    public Tensor weight() {
        return weight;
    }

    public Tensor bias() {
        return bias;
    }

    public int inChannels() {
        return inChannels;
    }

    public int outChannels() {
        return outChannels;
    }

    public int[] kernel() {
        return kernel.clone();
    }

    public int[] stride() {
        return stride.clone();
    }

    public int[] padding() {
        return padding.clone();
    }

    public int[] dilation() {
        return dilation.clone();
    }

    public int groups() {
        return groups;
    }

    @Override
    protected String extraRepr() {
        return inChannels + ", " + outChannels + ", kernel=" + Arrays.toString(kernel) + ", stride="
                + Arrays.toString(stride) + ", padding=" + Arrays.toString(padding)
                + (dilation[0] != 1 || dilation[1] != 1 ? ", dilation=" + Arrays.toString(dilation) : "")
                + (groups != 1 ? ", groups=" + groups : "") + (bias == null ? ", bias=false" : "");
    }
}
