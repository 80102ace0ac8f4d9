/**
 * Array kernels: FP32 and INT8 GEMM, convolution, elementwise and normalization loops over plain arrays.
 * Every kernel has a scalar reference and a Vector API version behind one interface; {@link dev.graft.kernels.Kernels}
 * picks one at start-up. No Tensor type lives here.
 */
module dev.graft.kernels {
    requires jdk.incubator.vector;
    exports dev.graft.kernels;
}
