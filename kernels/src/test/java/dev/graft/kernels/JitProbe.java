package dev.graft.kernels;

import static java.lang.foreign.ValueLayout.ADDRESS;

import dev.graft.kernels.x86.AmxGemmCode;
import dev.graft.kernels.x86.AmxPermission;
import dev.graft.kernels.x86.AvxVnniGemmCode;
import dev.graft.kernels.x86.Gpr;
import dev.graft.kernels.x86.Mem;
import dev.graft.kernels.x86.Tmm;
import dev.graft.kernels.x86.X86Assembler;
import dev.graft.kernels.x86.NativeCode;
import dev.graft.kernels.x86.VnniGemmCode;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.Arrays;

/** Main class of the subprocesses of {@link JitSafetyTest}. */
public final class JitProbe {

    private JitProbe() {
    }

    public static void main(String[] args) throws Throwable {
        switch (args[0]) {
            case "select" -> {
                // 1 x 5 output of a 1 x 3 by 3 x 5 product with zero points 0: exact int32 sums.
                byte[] a = {1, 2, 3};
                byte[] w = {-1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0};
                PackedInt8Weights packed = PackedInt8Weights.pack(w, 0, 5, 3, new float[] {1f}, null);
                int[] out = new int[5];
                Kernels.int8Gemm().gemm(1, a, 0, 3, 0, packed, new Int8Output.Int32(out, 0, 5, 1));
                System.out.println("int8=" + Kernels.int8Gemm().name() + " result=" + Arrays.toString(out));
                System.out.println("description=" + Kernels.description());
                if (Kernels.int8Gemm() instanceof JitInt8Gemm jit) {
                    System.out.println("isa=" + jit.isa());
                }
            }
            case "requantize" -> {
                // 5 x 37 (a tail of 5 columns in the last 16-column slice), k = 11: the chosen kernel against scalar.
                int m = 5, n = 37, k = 11;
                byte[] a = new byte[m * k];
                byte[] w = new byte[n * k];
                new java.util.Random(7).nextBytes(a);
                new java.util.Random(8).nextBytes(w);
                float[] bias = new float[n];
                Arrays.fill(bias, 0.75f);
                byte[] expected = new byte[m * n + 1];
                byte[] actual = new byte[m * n + 1];
                actual[m * n] = 42; // one byte past the output: must stay untouched
                expected[m * n] = 42;
                new ScalarInt8Gemm().gemm(m, a, 0, k, 3, PackedInt8Weights.pack(w, 0, n, k, new float[] {0.01f}, null,
                        new ScalarInt8Gemm()), new Int8Output.Requantize(0.05f, bias, 0.02f, 128, false, expected, 0, n));
                Kernels.int8Gemm().gemm(m, a, 0, k, 3, PackedInt8Weights.pack(w, 0, n, k, new float[] {0.01f}, null),
                        new Int8Output.Requantize(0.05f, bias, 0.02f, 128, false, actual, 0, n));
                System.out.println("requantize=" + (Arrays.equals(expected, actual) ? "same" : "differs"));
                System.out.println("description=" + Kernels.description());
            }
            case "invalid-instruction-avx-vnni" -> {
                AvxVnniGemmCode code = new AvxVnniGemmCode(6, VnniGemmCode.Output.INT32, false,
                        VnniGemmCode.Operands.ACTIVATION_ROWS, VnniGemmCode.Fault.INVALID_INSTRUCTION);
                MethodHandle kernel = NativeCode.install("faulty", code.assembler()).handle(
                        FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS), true);
                long[] params = new long[AvxVnniGemmCode.PARAMS];
                MemorySegment p = MemorySegment.ofArray(params);
                kernel.invokeExact(p, p, p, p, p, p);
                System.out.println("returned");
            }
            case "invalid-instruction" -> {
                VnniGemmCode code = new VnniGemmCode(6, 4, VnniGemmCode.Output.INT32, false,
                        VnniGemmCode.Fault.INVALID_INSTRUCTION);
                MethodHandle kernel = NativeCode.install("faulty", code.assembler()).handle(
                        FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS), true);
                long[] params = new long[VnniGemmCode.PARAMS];
                MemorySegment p = MemorySegment.ofArray(params);
                kernel.invokeExact(p, p, p, p, p, p);
                System.out.println("returned");
            }
            case "tile-without-grant", "tile-with-grant" -> {
                // ldtilecfg, tilezero, tilerelease: harmless with Linux's grant of tile state, SIGILL without it.
                if (args[0].equals("tile-with-grant")) {
                    String refused = AmxPermission.request();
                    System.out.println("grant=" + (refused == null ? "yes" : refused));
                }
                X86Assembler a = new X86Assembler();
                a.ldtilecfg(Mem.at(Gpr.RDI, 0));
                a.tilezero(Tmm.tmm(0));
                a.tilerelease();
                a.ret();
                MethodHandle code = NativeCode.install("tiles", a).handle(FunctionDescriptor.ofVoid(ADDRESS), true);
                long[] config = new long[8];
                AmxGemmCode.putTileConfig(config, 0, 16);
                code.invokeExact(MemorySegment.ofArray(config));
                System.out.println("returned");
            }
            default -> throw new IllegalArgumentException(args[0]);
        }
    }
}
