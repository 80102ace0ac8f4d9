package dev.graft.engine.quant.passes;

import dev.graft.engine.graph.GraphModule;

/**
 * A graph pass that keeps a block's FP32 function (up to float rounding) while changing how it is computed, such
 * as {@link SmoothQuant}'s per-channel scales. It is installed in a block's pipeline before quantization; the
 * quantizer's prepare and convert keep such passes, in order, in front of their own, so every graph of the block
 * (re-traces included) is rewritten the same way before it is fused, observed and converted.
 */
public interface EquivalentRewrite extends GraphModule.GraphPass {
}
