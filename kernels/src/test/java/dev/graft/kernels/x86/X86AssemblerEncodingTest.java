package dev.graft.kernels.x86;

import static dev.graft.kernels.x86.Vec.xmm;
import static dev.graft.kernels.x86.Vec.ymm;
import static dev.graft.kernels.x86.Vec.zmm;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every encoding the assembler can produce, checked against an independent decoder: GNU objdump (Debian
 * {@code binutils}; {@code ./graft test} installs it when missing, as it does chromium) disassembles the bytes and
 * must print exactly the assembler's own listing, instruction by instruction. A wrong prefix bit, ModRM/SIB choice
 * or compressed displacement shows up as a different register, address or instruction length.
 *
 * <p>The instructions: every register in every operand position, every base register (rsp, rbp, r12 and r13 have
 * special encodings), every index and scale, displacements around the disp8 and disp8*N boundaries, masks, and the
 * complete generated GEMM and feature-probe code.
 */
class X86AssemblerEncodingTest {

    private static final int[] DISPLACEMENTS = {0, 1, 3, 4, 60, 64, 127, 128, 252, 256, 508, 512, 1024, 8128, 8192,
        -4, -64, -128, -129, -512, -8192, -8256, 0x12345, -0x12345};

    @TempDir
    Path dir;

    @Test
    void everyEncodingMatchesObjdump() throws Exception {
        X86Assembler a = new X86Assembler();
        Random r = new Random(12);
        legacy(a, r);
        vector(a, r);
        int count = check(a);
        assertTrue(count > 15_000, "checked only " + count + " instructions");
    }

    /** The VEX (AVX2 / AVX-VNNI) instructions of the 256-bit kernels: every register pair, every memory form. */
    @Test
    void everyVexEncodingMatchesObjdump() throws Exception {
        X86Assembler a = new X86Assembler();
        vex(a, new Random(13));
        assertTrue(!a.usesAvx512(), "a VEX instruction was emitted as EVEX");
        int count = check(a);
        assertTrue(count > 8_000, "checked only " + count + " instructions");
    }

    /**
     * The AMX tile instructions: every tile triple of {@code tdpbusd}, every base and stride register of the tile
     * loads and stores (rsp as a base, rbp/r13 with their forced displacement, high registers in VEX.X/B) at the
     * displacements of the other tests, the configuration loads, and {@code and} (the kernel aligns its stack).
     */
    @Test
    void everyAmxEncodingMatchesObjdump() throws Exception {
        X86Assembler a = new X86Assembler();
        for (int d = 0; d < 8; d++) {
            for (int x = 0; x < 8; x++) {
                for (int y = 0; y < 8; y++) {
                    if (d != x && d != y && x != y) {
                        a.tdpbusd(Tmm.tmm(d), Tmm.tmm(x), Tmm.tmm(y));
                    }
                }
            }
            a.tilezero(Tmm.tmm(d));
        }
        Random r = new Random(14);
        for (Gpr base : Gpr.values()) {
            for (Gpr index : Gpr.values()) {
                if (index == Gpr.RSP) {
                    continue;
                }
                int disp = DISPLACEMENTS[r.nextInt(DISPLACEMENTS.length)];
                int t = r.nextInt(8);
                a.tileloadd(Tmm.tmm(t), Mem.at(base, index, 1 << r.nextInt(4), disp));
                a.tilestored(Mem.at(base, index, 1 << r.nextInt(4), disp), Tmm.tmm((t + 3) % 8));
            }
            a.ldtilecfg(Mem.at(base, DISPLACEMENTS[r.nextInt(DISPLACEMENTS.length)]));
            for (int imm : new int[] {-64, 15, 0x1000, -0x80000000}) {
                a.and(base, imm);
            }
        }
        a.tilerelease();
        assertThrows(IllegalArgumentException.class, () -> a.tileloadd(Tmm.tmm(0), Mem.at(Gpr.RAX, 64)));
        assertThrows(IllegalArgumentException.class, () -> a.tdpbusd(Tmm.tmm(1), Tmm.tmm(1), Tmm.tmm(2)));
        int count = check(a);
        assertTrue(count > 600, "checked only " + count + " instructions");
    }

    @Test
    void generatedKernelsMatchObjdump() throws Exception {
        for (VnniGemmCode.Output o : VnniGemmCode.Output.values()) {
            for (boolean asym : new boolean[] {false, true}) {
                check(new AmxGemmCode(o, asym, VnniGemmCode.Fault.NONE).assembler());
            }
        }
        for (VnniGemmCode.Output o : VnniGemmCode.Output.values()) {
            for (boolean asym : new boolean[] {false, true}) {
                for (int rows = 1; rows <= 6; rows++) {
                    check(new VnniGemmCode(rows, 4 - (rows > 4 ? 0 : rows % 2), o, asym).assembler());
                }
            }
        }
        for (VnniGemmCode.Output o : VnniGemmCode.Output.values()) {
            for (boolean asym : new boolean[] {false, true}) {
                for (VnniGemmCode.Operands form : VnniGemmCode.Operands.values()) {
                    for (int rows : form == VnniGemmCode.Operands.ACTIVATION_ROWS ? new int[] {1, 4, 6} : new int[] {6}) {
                        check(new AvxVnniGemmCode(rows, o, asym, form, VnniGemmCode.Fault.NONE).assembler());
                    }
                }
            }
        }
        check(CpuFeatures.cpuidCode());
        check(CpuFeatures.xgetbvCode());
    }

    private static Mem memory(Random r) {
        Gpr base = Gpr.values()[r.nextInt(16)];
        int disp = r.nextInt(4) == 0 ? r.nextInt(4096) - 2048 : DISPLACEMENTS[r.nextInt(DISPLACEMENTS.length)];
        if (r.nextBoolean()) {
            return Mem.at(base, disp);
        }
        Gpr index;
        do {
            index = Gpr.values()[r.nextInt(16)];
        } while (index == Gpr.RSP);
        return Mem.at(base, index, 1 << r.nextInt(4), disp);
    }

    private static void legacy(X86Assembler a, Random r) {
        for (Gpr x : Gpr.values()) {
            for (Gpr y : Gpr.values()) {
                a.mov(x, y);
                a.mov32(x, y);
                a.add(x, y);
                a.sub(x, y);
                a.cmp(x, y);
                a.or(x, y);
                a.xor32(x, y);
                a.imul(x, y);
            }
            for (long imm : new long[] {0, 1, 127, 128, -1, -128, -129, 0x7fffffffL, -0x80000000L, 0x80000000L,
                0x123456789abcL, -0x123456789abcL}) {
                a.mov(x, imm);
                if (imm == (int) imm) {
                    a.add(x, (int) imm);
                    a.sub(x, (int) imm);
                    a.cmp(x, (int) imm);
                }
            }
            a.shl(x, 1 + r.nextInt(63));
            a.shr(x, r.nextInt(64));
            a.dec(x);
            a.push(x);
            a.pop(x);
        }
        for (int i = 0; i < 1500; i++) {
            Gpr g = Gpr.values()[r.nextInt(16)];
            Mem m = memory(r);
            switch (i % 7) {
                case 0 -> a.mov(g, m);
                case 1 -> a.mov(m, g);
                case 2 -> a.mov32(m, g);
                case 3 -> a.lea(g, m);
                case 4 -> a.add(g, m);
                case 5 -> a.sub(g, m);
                default -> a.kmovw(Mask.k(r.nextInt(8)), m);
            }
        }
        for (int k = 0; k < 8; k++) {
            for (Gpr g : Gpr.values()) {
                a.kmovw(Mask.k(k), g);
            }
        }
        Label back = new Label();
        a.bind(back);
        Label ahead = new Label();
        for (X86Assembler.Cond c : X86Assembler.Cond.values()) {
            a.j(c, back);
            a.j(c, ahead);
        }
        a.jmp(back);
        a.jmp(ahead);
        a.bind(ahead);
        a.cpuid();
        a.xgetbv();
        a.ud2();
        a.vzeroupper();
        a.ret();
    }

    private static void vector(X86Assembler a, Random r) {
        for (int d = 0; d < 32; d++) {
            for (int s = 0; s < 32; s++) {
                Vec x = zmm(d);
                Vec y = zmm(s);
                Vec z = zmm((d * 7 + s * 13) % 32);
                a.vpdpbusd(x, y, z);
                a.vpaddd(x, y, z);
                a.vpsubd(x, y, z);
                a.vpmulld(x, y, z);
                a.vpxord(x, y, z);
                a.vminps(x, y, z);
                a.vmaxps(x, y, z);
                a.vmulps(x, y, z);
                a.vcvtdq2ps(x, y);
                a.vcvtps2dqRoundNearest(x, y);
                a.vpxord(x, Mask.k(1 + (d + s) % 7), y, z);
                a.vcmpps(Mask.k(d % 8), x, y, X86Assembler.CmpPredicate.values()[s % 8]);
                a.vpdpbusd(ymm(d), ymm(s), ymm(z.index()));
                a.vpdpbusd(xmm(d), xmm(s), xmm(z.index()));
            }
        }
        for (int d = 0; d < 16; d++) {
            for (int s = 0; s < 16; s++) {
                a.vpdpbusdVex(ymm(d), ymm(s), ymm((d + 3 * s) % 16));
                a.vpdpbusdVex(xmm(d), xmm(s), xmm((d + 5 * s) % 16));
            }
        }
        for (Gpr g : Gpr.values()) {
            for (int v = 0; v < 32; v += 5) {
                a.vpbroadcastd(zmm(v), g);
            }
        }
        for (int i = 0; i < 4000; i++) {
            Vec x = zmm(r.nextInt(32));
            Vec y = zmm(r.nextInt(32));
            Mem m = memory(r);
            Mask k = Mask.k(r.nextInt(8));
            switch (i % 23) {
                case 0 -> a.vpdpbusd(x, y, m);
                case 1 -> a.vpdpbusdBroadcast(x, y, m);
                case 2 -> a.vpbroadcastd(x, m);
                case 3 -> a.vmovdqu32(x, k, r.nextBoolean() && k.index() != 0, m);
                case 4 -> a.vmovdqu32(m, k, x);
                case 5 -> a.vmovups(m, k, x);
                case 6 -> a.vmovups(x, m);
                case 7 -> a.vpmovdb(m, k, x);
                case 8 -> a.vpaddd(x, y, m);
                case 9 -> a.vpadddBroadcast(x, y, m);
                case 10 -> a.vpmulldBroadcast(x, y, m);
                case 11 -> a.vpmaxsdBroadcast(x, y, m);
                case 12 -> a.vpminsdBroadcast(x, y, m);
                case 13 -> a.vaddps(x, y, m);
                case 14 -> a.vmulps(x, y, m);
                case 15 -> a.vfmadd213ps(x, y, m);
                case 16 -> a.vbroadcastss(x, m);
                case 17 -> a.vpdpbusd(ymm(x.index()), ymm(y.index()), m);
                case 18 -> a.vpmovdb(m, k, ymm(x.index()));
                case 19 -> a.vaddpsBroadcast(x, y, m);
                case 20 -> a.vmulpsBroadcast(x, y, m);
                case 21 -> a.vfmadd213psBroadcast(x, y, m);
                default -> a.vpdpbusdVex(ymm(x.index() % 16), ymm(y.index() % 16), m);
            }
        }
    }

    private static void vex(X86Assembler a, Random r) {
        for (int d = 0; d < 16; d++) {
            for (int s = 0; s < 16; s++) {
                Vec x = ymm(d);
                Vec y = ymm(s);
                Vec z = ymm((d * 7 + s * 13) % 16);
                a.vpadddVex(x, y, z);
                a.vpmulldVex(x, y, z);
                a.vpmaxsdVex(x, y, z);
                a.vpminsdVex(x, y, z);
                a.vpandnVex(x, y, z);
                a.vpxorVex(x, y, z);
                a.vpackusdwVex(x, y, z);
                a.vpackuswbVex(xmm(d), xmm(s), xmm(z.index()));
                a.vaddpsVex(x, y, z);
                a.vmulpsVex(x, y, z);
                a.vminpsVex(x, y, z);
                a.vmaxpsVex(x, y, z);
                a.vfmadd213psVex(x, y, z);
                a.vcmppsVex(x, y, z, X86Assembler.CmpPredicate.values()[(d + s) % 8]);
                a.vcvtdq2psVex(x, y);
                a.vcvtps2dqVex(x, y);
                a.vpermqVex(x, y, (d * 16 + s) & 0xFF);
                a.vextracti128Vex(xmm(d), y, s & 1);
            }
        }
        for (Gpr g : Gpr.values()) {
            for (Gpr h : Gpr.values()) {
                a.movByte(Mem.at(h, g == Gpr.RSP ? Gpr.RAX : g, 1, -1), g);
                a.movzxByte(g, Mem.at(h, g == Gpr.RSP ? Gpr.R14 : g, 1, 0x1f));
            }
        }
        for (int i = 0; i < 3000; i++) {
            Vec x = ymm(r.nextInt(16));
            Vec y = ymm(r.nextInt(16));
            Mem m = memory(r);
            switch (i % 15) {
                case 0 -> a.vpadddVex(x, y, m);
                case 1 -> a.vpmulldVex(x, y, m);
                case 2 -> a.vaddpsVex(x, y, m);
                case 3 -> a.vmulpsVex(x, y, m);
                case 4 -> a.vfmadd213psVex(x, y, m);
                case 5 -> a.vpbroadcastdVex(x, m);
                case 6 -> a.vbroadcastssVex(x, m);
                case 7 -> a.vmovdquVex(x, m);
                case 8 -> a.vmovdquVex(m, x);
                case 9 -> a.vmovdquVex(m, xmm(x.index()));
                case 10 -> a.vpmaskmovdVex(m, y, x);
                case 11 -> a.vmaskmovpsVex(m, y, x);
                case 12 -> a.movByte(m, Gpr.values()[r.nextInt(16)]);
                case 13 -> a.movzxByte(Gpr.values()[r.nextInt(16)], m);
                default -> a.vpdpbusdVex(x, y, m);
            }
        }
    }

    /** Disassembles the assembler's bytes and compares every line with its listing; returns the count. */
    private int check(X86Assembler a) throws IOException, InterruptedException {
        String objdump = objdump();
        Path bin = Files.createTempFile(dir, "code", ".bin");
        Files.write(bin, a.toBytes());
        Process p = new ProcessBuilder(objdump, "-D", "-b", "binary", "-m", "i386:x86-64", "-M", "intel",
                "--no-show-raw-insn", bin.toString()).redirectErrorStream(true).start();
        byte[] outBytes = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "objdump timed out");
        String out = new String(outBytes, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), out);
        List<String> decoded = new ArrayList<>();
        for (String line : out.split("\n")) {
            // "     1f:\tvpdpbusd zmm0,zmm1,zmm2"
            int colon = line.indexOf(":\t");
            if (colon < 0 || !line.substring(0, colon).trim().matches("[0-9a-f]+")) {
                continue;
            }
            decoded.add(line.substring(0, colon).trim() + ": " + normalize(line.substring(colon + 2)));
        }
        List<String> expected = a.listing();
        for (int i = 0; i < Math.min(expected.size(), decoded.size()); i++) {
            assertEquals(expected.get(i), decoded.get(i), "instruction " + i + " differs");
        }
        assertEquals(expected.size(), decoded.size(), "instruction count");
        return expected.size();
    }

    /** objdump's spacing collapsed; the older broadcast spelling {@code DWORD PTR [x]{1toN}} in the 2.40 form. */
    static String normalize(String text) {
        String s = text.trim().replaceAll("\\s+", " ");
        s = s.replaceAll("DWORD PTR (\\[[^\\]]*\\])\\{1to(4|8|16)\\}", "DWORD BCST $1");
        return s;
    }

    private static String objdump() {
        String fromScript = System.getenv("GRAFT_OBJDUMP");
        if (fromScript != null && Files.isExecutable(Path.of(fromScript))) {
            return fromScript;
        }
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(java.io.File.pathSeparator)) {
            Path candidate = Path.of(dir, "objdump");
            if (Files.isExecutable(candidate)) {
                return candidate.toString();
            }
        }
        Assumptions.assumeTrue(false, "GNU objdump not found: install Debian's binutils (./graft test does it"
                + " itself when it can: scripts/install-binutils)");
        return null;
    }
}
