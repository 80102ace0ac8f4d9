package dev.graft.kernels;

/**
 * Every property of {@link JitInt8GemmPropertiesTest} (both operand forms, every output stage, tails of every width,
 * K not a multiple of 4 or of 64 and up to 4096, extreme values, GEMMs cut into small calls, 1-3 threads) on the AMX
 * code, forced, with every linear-form GEMM on the tiles (the selection sends small ones to {@code vpdpbusd}; the
 * default {@link JitInt8GemmPropertiesTest} runs that mix). Skipped where the CPU lacks AMX-INT8 or Linux does not
 * grant tile data.
 */
class AmxGemmPropertiesTest extends JitInt8GemmPropertiesTest {

    @Override
    JitInt8Gemm.Isa isa() {
        return JitInt8Gemm.Isa.AMX;
    }

    @Override
    JitInt8Gemm jit(int threads) {
        return super.jit(threads).withAmxAlways();
    }
}
