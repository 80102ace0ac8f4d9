/**
 * Array kernels: FP32 and INT8 GEMM, convolution, elementwise and normalization loops over plain arrays.
 * Every kernel has a scalar reference and, for the hot ones, a Vector API version; the INT8 GEMM also has machine
 * code generated at start-up ({@code dev.graft.kernels.x86}: an assembler, executable memory and the VNNI kernel
 * generator, internal to this module). {@link dev.graft.kernels.Kernels} picks the implementations at start-up. No
 * Tensor type lives here.
 */
@SuppressWarnings("module") // dev.graft.jmh is built after this module
module dev.graft.kernels {
    requires jdk.incubator.vector;
    exports dev.graft.kernels;
    // The benchmarks measure the vpdpbusd ceiling with the assembler itself.
    exports dev.graft.kernels.x86 to dev.graft.jmh;
}
