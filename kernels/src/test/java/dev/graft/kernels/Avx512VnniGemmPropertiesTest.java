package dev.graft.kernels;

/**
 * Every property of {@link JitInt8GemmPropertiesTest} on the AVX-512 VNNI code, forced: on a machine with AMX the
 * selection runs the AMX code for linear layers, and this one only where AMX is refused. Skipped where the CPU lacks
 * AVX-512 VNNI.
 */
class Avx512VnniGemmPropertiesTest extends JitInt8GemmPropertiesTest {

    @Override
    JitInt8Gemm.Isa isa() {
        return JitInt8Gemm.Isa.AVX512_VNNI;
    }
}
