package dev.graft.kernels;

/**
 * Every property of {@link JitInt8GemmPropertiesTest} (both operand forms, every output stage, tails of every width,
 * K not a multiple of 4 and up to 4096, extreme values, GEMMs cut into small calls, 1-3 threads) on the 256-bit
 * AVX-VNNI code, forced: on a machine that also has AVX-512 VNNI the selection would never run it. Skipped where the
 * CPU lacks AVX-VNNI.
 */
class AvxVnniGemmPropertiesTest extends JitInt8GemmPropertiesTest {

    @Override
    JitInt8Gemm.Isa isa() {
        return JitInt8Gemm.Isa.AVX_VNNI;
    }
}
