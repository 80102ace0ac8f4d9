package dev.graft.kernels.x86;

import static dev.graft.kernels.x86.Gpr.RAX;
import static dev.graft.kernels.x86.Gpr.RBX;
import static dev.graft.kernels.x86.Gpr.RCX;
import static dev.graft.kernels.x86.Gpr.RDI;
import static dev.graft.kernels.x86.Gpr.RDX;
import static dev.graft.kernels.x86.Gpr.RSI;
import static dev.graft.kernels.x86.Gpr.R8;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * What this CPU and operating system let generated code use, read with {@code cpuid} and {@code xgetbv} (both run
 * as two tiny generated functions, the first code this package executes; they use only baseline x86-64).
 *
 * <p>AVX-512 needs more than the CPU's feature bits: the OS must save the opmask and upper zmm state on a context
 * switch, which {@code XCR0} bits 5-7 (with SSE and AVX state, bits 1-2) report, and {@code xgetbv} may only run when
 * {@code cpuid.1:ecx.OSXSAVE} says the OS enabled it.
 *
 * @param vendor       the cpuid vendor string, e.g. {@code GenuineIntel}
 * @param avx512f      AVX-512 Foundation (cpuid.7.0:ebx bit 16)
 * @param avx512bw     byte/word instructions (ebx bit 30)
 * @param avx512vl     128/256-bit EVEX forms (ebx bit 31)
 * @param avx512vnni   {@code vpdpbusd} with EVEX (cpuid.7.0:ecx bit 11)
 * @param avxVnni      {@code vpdpbusd} with VEX, for CPUs without AVX-512 (cpuid.7.1:eax bit 4)
 * @param avx2         256-bit integer instructions (cpuid.7.0:ebx bit 5), which the AVX-VNNI kernels also use
 * @param fma          {@code vfmadd} (cpuid.1:ecx bit 12), used by the AVX-VNNI kernels' float output stage
 * @param osAvx        the OS saves ymm state (XCR0 bits 1 and 2)
 * @param osAvx512     the OS saves opmask and zmm state (XCR0 bits 5, 6 and 7)
 * @param amxTile      AMX tile registers and loads/stores (cpuid.7.0:edx bit 24)
 * @param amxInt8      {@code tdpbusd} and the other int8 tile products (edx bit 25)
 * @param osAmx        the OS saves tile configuration and tile data (XCR0 bits 17 and 18); Linux still hands tile
 *                     data to a process only after it asks ({@link AmxPermission})
 */
public record CpuFeatures(String vendor, boolean avx512f, boolean avx512bw, boolean avx512vl, boolean avx512vnni,
                          boolean avxVnni, boolean avx2, boolean fma, boolean osAvx, boolean osAvx512,
                          boolean amxTile, boolean amxInt8, boolean osAmx) {

    /** The features of a CPU without AMX (most tests describe such machines). */
    public CpuFeatures(String vendor, boolean avx512f, boolean avx512bw, boolean avx512vl, boolean avx512vnni,
                       boolean avxVnni, boolean avx2, boolean fma, boolean osAvx, boolean osAvx512) {
        this(vendor, avx512f, avx512bw, avx512vl, avx512vnni, avxVnni, avx2, fma, osAvx, osAvx512, false, false,
                false);
    }

    /**
     * Why the AMX kernels cannot run, or null when the CPU and OS can (the process must still be granted tile data,
     * {@link AmxPermission#request()}). They also use AVX-512 for their output stage.
     */
    public String missingForAmx() {
        String avx512 = missingForAvx512Vnni();
        if (avx512 != null) {
            return avx512;
        }
        if (!amxTile || !amxInt8) {
            return "the CPU lacks" + (amxTile ? "" : " AMX-TILE") + (amxInt8 ? "" : " AMX-INT8");
        }
        return osAmx ? null : "the OS does not enable AMX tile state (XCR0)";
    }

    /** AVX-512 with VNNI usable here: the ISA of the 512-bit kernels. */
    public boolean avx512Vnni() {
        return avx512f && avx512bw && avx512vl && avx512vnni && osAvx && osAvx512;
    }

    /** AVX-VNNI (256-bit, VEX) usable here, with the AVX2 and FMA instructions its kernels also use. */
    public boolean avxVnniUsable() {
        return missingForAvxVnni() == null;
    }

    /** Why the 512-bit kernels cannot run, or null when they can. */
    public String missingForAvx512Vnni() {
        if (!osAvx || !osAvx512) {
            return "the OS does not enable AVX-512 state (XCR0)";
        }
        StringBuilder missing = new StringBuilder();
        if (!avx512f) {
            missing.append(" AVX512F");
        }
        if (!avx512bw) {
            missing.append(" AVX512BW");
        }
        if (!avx512vl) {
            missing.append(" AVX512VL");
        }
        if (!avx512vnni) {
            missing.append(" AVX512_VNNI");
        }
        return missing.isEmpty() ? null : "the CPU lacks" + missing;
    }

    /** Why the 256-bit AVX-VNNI kernels cannot run, or null when they can. */
    public String missingForAvxVnni() {
        if (!osAvx) {
            return "the OS does not enable AVX state (XCR0)";
        }
        String missing = (avxVnni ? "" : " AVX-VNNI") + (avx2 ? "" : " AVX2") + (fma ? "" : " FMA");
        return missing.isEmpty() ? null : "the CPU lacks" + missing;
    }

    @Override
    public String toString() {
        return vendor + (missingForAmx() == null ? " AMX-INT8" : "")
                + (avx512Vnni() ? " AVX-512 VNNI" : avxVnniUsable() ? " AVX-VNNI" : " no VNNI");
    }

    /** Reads the features; throws when executable memory or native access is unavailable. */
    public static CpuFeatures detect() throws ExecutableMemory.UnavailableException {
        Probe probe = Probe.get();
        int[] leaf0 = probe.cpuid(0, 0);
        int maxLeaf = leaf0[0];
        String vendor = ascii(leaf0[1]) + ascii(leaf0[3]) + ascii(leaf0[2]);
        int[] leaf1 = probe.cpuid(1, 0);
        boolean osxsave = (leaf1[2] >>> 27 & 1) != 0;
        boolean avx = (leaf1[2] >>> 28 & 1) != 0;
        long xcr0 = osxsave ? probe.xgetbv(0) : 0;
        boolean osAvx = avx && (xcr0 & 0x6) == 0x6;
        boolean osAvx512 = (xcr0 & 0xE6) == 0xE6;
        boolean osAmx = (xcr0 & 0x60000) == 0x60000;
        int[] leaf7 = maxLeaf >= 7 ? probe.cpuid(7, 0) : new int[4];
        int[] leaf71 = maxLeaf >= 7 && leaf7[0] >= 1 ? probe.cpuid(7, 1) : new int[4];
        return new CpuFeatures(vendor,
                (leaf7[1] >>> 16 & 1) != 0, (leaf7[1] >>> 30 & 1) != 0, (leaf7[1] >>> 31 & 1) != 0,
                (leaf7[2] >>> 11 & 1) != 0, (leaf71[0] >>> 4 & 1) != 0, (leaf7[1] >>> 5 & 1) != 0,
                (leaf1[2] >>> 12 & 1) != 0, osAvx, osAvx512,
                (leaf7[3] >>> 24 & 1) != 0, (leaf7[3] >>> 25 & 1) != 0, osAmx);
    }

    private static String ascii(int register) {
        char[] c = new char[4];
        for (int i = 0; i < 4; i++) {
            c[i] = (char) (register >>> (8 * i) & 0xFF);
        }
        return new String(c);
    }

    /** The two generated functions: {@code cpuid(leaf, subleaf, int[4] out)} and {@code long xgetbv(int xcr)}. */
    private record Probe(MethodHandle cpuid, MethodHandle xgetbv) {
        private static Probe instance;

        static synchronized Probe get() throws ExecutableMemory.UnavailableException {
            if (instance == null) {
                instance = new Probe(
                        NativeCode.install("cpuid", cpuidCode()).handle(
                                FunctionDescriptor.ofVoid(JAVA_INT, JAVA_INT, ADDRESS), true),
                        NativeCode.install("xgetbv", xgetbvCode()).handle(
                                FunctionDescriptor.of(JAVA_LONG, JAVA_INT), true));
            }
            return instance;
        }

        int[] cpuid(int leaf, int subleaf) {
            int[] out = new int[4];
            try {
                cpuid.invokeExact(leaf, subleaf, MemorySegment.ofArray(out));
            } catch (Throwable t) {
                throw new IllegalStateException("cpuid call failed", t);
            }
            return out;
        }

        long xgetbv(int xcr) {
            try {
                return (long) xgetbv.invokeExact(xcr);
            } catch (Throwable t) {
                throw new IllegalStateException("xgetbv call failed", t);
            }
        }
    }

    /** {@code void cpuid(int leaf, int subleaf, int* out)}: leaf in edi, subleaf in esi, out in rdx. */
    static X86Assembler cpuidCode() {
        X86Assembler a = new X86Assembler();
        a.push(RBX);            // cpuid writes ebx, which the caller expects preserved
        a.mov(R8, RDX);
        a.mov32(RAX, RDI);
        a.mov32(RCX, RSI);
        a.cpuid();
        a.mov32(Mem.at(R8, 0), RAX);
        a.mov32(Mem.at(R8, 4), RBX);
        a.mov32(Mem.at(R8, 8), RCX);
        a.mov32(Mem.at(R8, 12), RDX);
        a.pop(RBX);
        a.ret();
        return a;
    }

    /** {@code long xgetbv(int xcr)}: xcr in edi, {@code edx:eax} returned as one 64-bit value in rax. */
    static X86Assembler xgetbvCode() {
        X86Assembler a = new X86Assembler();
        a.mov32(RCX, RDI);
        a.xgetbv();
        a.shl(RDX, 32);
        a.mov32(RAX, RAX);      // clear the upper half of rax
        a.or(RAX, RDX);
        a.ret();
        return a;
    }
}
