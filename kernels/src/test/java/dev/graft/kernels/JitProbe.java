package dev.graft.kernels;

import static java.lang.foreign.ValueLayout.ADDRESS;

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
            default -> throw new IllegalArgumentException(args[0]);
        }
    }
}
