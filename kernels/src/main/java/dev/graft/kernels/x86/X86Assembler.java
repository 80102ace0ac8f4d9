package dev.graft.kernels.x86;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A small x86-64 assembler for exactly the instructions Graft's generated kernels use: general-purpose loop and
 * address arithmetic (legacy encodings with REX), opmask moves (VEX), and AVX-512 / AVX-VNNI vector instructions
 * (EVEX and VEX). Each method is named after the mnemonic and takes its operands in Intel order (destination first),
 * in the manner of Xbyak: {@code vpdpbusd(zmm(0), zmm(30), Mem.at(R15, 64))}.
 *
 * <p>Every instruction also appends its text, as GNU objdump prints it in Intel syntax, to a {@link #listing()}.
 * A test disassembles the bytes with objdump and compares the two line by line, so an encoding mistake (which would
 * kill the JVM, not throw) is caught before any generated code runs.
 *
 * <p>Encodings follow the Intel SDM, volume 2, chapter 2: ModRM/SIB addressing with disp8 or disp32, the REX, VEX
 * (2- and 3-byte) and EVEX prefixes, and EVEX's compressed displacement (disp8 scaled by the operand's tuple size).
 * Not thread-safe; one assembler builds one piece of code.
 */
public final class X86Assembler extends X86TileInstructions {

    /** Condition codes of {@code jcc}, with their objdump mnemonics. */
    public enum Cond {
        B(0x2, "jb"), AE(0x3, "jae"), E(0x4, "je"), NE(0x5, "jne"), BE(0x6, "jbe"), A(0x7, "ja"),
        L(0xC, "jl"), GE(0xD, "jge"), LE(0xE, "jle"), G(0xF, "jg");

        final int code;
        final String mnemonic;

        Cond(int code, String mnemonic) {
            this.code = code;
            this.mnemonic = mnemonic;
        }
    }

    /** Predicates of {@code vcmpps} (the first eight, quiet forms), named as objdump spells the alias. */
    public enum CmpPredicate {
        EQ, LT, LE, UNORD, NEQ, NLT, NLE, ORD;

        int imm() {
            return ordinal();
        }
    }

    // ---------------------------------------------------------------------------------------------- plumbing

    // ------------------------------------------------------------------- general-purpose instructions (legacy)

    /** {@code mov dst, src} (64-bit). */
    public void mov(Gpr dst, Gpr src) {
        int start = size;
        rex(true, bit3(src.code()), 0, bit3(dst.code()));
        emit(0x89);
        modrmRegister(src.code(), dst.code());
        list(start, "mov " + dst.name64() + "," + src.name64());
    }

    /** {@code mov dst32, src32} (zero-extends into the 64-bit register). */
    public void mov32(Gpr dst, Gpr src) {
        int start = size;
        rex(false, bit3(src.code()), 0, bit3(dst.code()));
        emit(0x89);
        modrmRegister(src.code(), dst.code());
        list(start, "mov " + dst.name32() + "," + src.name32());
    }

    /** {@code mov dst, imm}: the sign-extended 32-bit form when it fits, else {@code movabs}. */
    public void mov(Gpr dst, long imm) {
        int start = size;
        if (imm == (int) imm) {
            rex(true, 0, 0, bit3(dst.code()));
            emit(0xC7);
            modrmRegister(0, dst.code());
            emit32((int) imm);
            list(start, "mov " + dst.name64() + ",0x" + Long.toHexString(imm));
        } else {
            rex(true, 0, 0, bit3(dst.code()));
            emit(0xB8 + (dst.code() & 7));
            emit32((int) imm);
            emit32((int) (imm >>> 32));
            list(start, "movabs " + dst.name64() + ",0x" + Long.toHexString(imm));
        }
    }

    /** {@code mov dst, QWORD PTR [m]}. */
    public void mov(Gpr dst, Mem m) {
        int start = size;
        rex(true, bit3(dst.code()), indexBit3(m), bit3(m.base().code()));
        emit(0x8B);
        modrmMemory(dst.code(), m, 1);
        list(start, "mov " + dst.name64() + ",QWORD PTR " + m.text());
    }

    /** {@code mov QWORD PTR [m], src}. */
    public void mov(Mem m, Gpr src) {
        int start = size;
        rex(true, bit3(src.code()), indexBit3(m), bit3(m.base().code()));
        emit(0x89);
        modrmMemory(src.code(), m, 1);
        list(start, "mov QWORD PTR " + m.text() + "," + src.name64());
    }

    /** {@code mov DWORD PTR [m], src32}. */
    public void mov32(Mem m, Gpr src) {
        int start = size;
        rex(false, bit3(src.code()), indexBit3(m), bit3(m.base().code()));
        emit(0x89);
        modrmMemory(src.code(), m, 1);
        list(start, "mov DWORD PTR " + m.text() + "," + src.name32());
    }

    /** {@code lea dst, [m]}. */
    public void lea(Gpr dst, Mem m) {
        int start = size;
        rex(true, bit3(dst.code()), indexBit3(m), bit3(m.base().code()));
        emit(0x8D);
        modrmMemory(dst.code(), m, 1);
        list(start, "lea " + dst.name64() + "," + m.text());
    }

    /** {@code movzx dst32, BYTE PTR [m]}: one byte, zero-extended. */
    public void movzxByte(Gpr dst, Mem m) {
        int start = size;
        rex(false, bit3(dst.code()), indexBit3(m), bit3(m.base().code()));
        emit(0x0F);
        emit(0xB6);
        modrmMemory(dst.code(), m, 1);
        list(start, "movzx " + dst.name32() + ",BYTE PTR " + m.text());
    }

    /** {@code mov BYTE PTR [m], src8}: the low byte of {@code src}. */
    public void movByte(Mem m, Gpr src) {
        int start = size;
        int rex = 0x40 | bit3(src.code()) << 2 | indexBit3(m) << 1 | bit3(m.base().code());
        // Without REX, byte registers 4-7 are ah/ch/dh/bh; with any REX they are spl/bpl/sil/dil.
        if (rex != 0x40 || (src.code() >= 4 && src.code() < 8)) {
            emit(rex);
        }
        emit(0x88);
        modrmMemory(src.code(), m, 1);
        list(start, "mov BYTE PTR " + m.text() + "," + src.name8());
    }

    /** The ALU group {@code add/or/and/sub/xor/cmp} as (opcode of the r/m, reg form; the /digit of the imm form). */
    private enum Alu {
        ADD(0x01, 0, "add"), OR(0x09, 1, "or"), AND(0x21, 4, "and"), SUB(0x29, 5, "sub"), XOR(0x31, 6, "xor"), CMP(0x39, 7, "cmp");

        final int opcode;
        final int digit;
        final String mnemonic;

        Alu(int opcode, int digit, String mnemonic) {
            this.opcode = opcode;
            this.digit = digit;
            this.mnemonic = mnemonic;
        }
    }

    private void alu(Alu op, Gpr dst, Gpr src) {
        int start = size;
        rex(true, bit3(src.code()), 0, bit3(dst.code()));
        emit(op.opcode);
        modrmRegister(src.code(), dst.code());
        list(start, op.mnemonic + " " + dst.name64() + "," + src.name64());
    }

    private void alu(Alu op, Gpr dst, int imm) {
        int start = size;
        rex(true, 0, 0, bit3(dst.code()));
        if (imm >= -128 && imm <= 127) {
            emit(0x83);
            modrmRegister(op.digit, dst.code());
            emit(imm);
        } else {
            emit(0x81);
            modrmRegister(op.digit, dst.code());
            emit32(imm);
        }
        list(start, op.mnemonic + " " + dst.name64() + ",0x" + Long.toHexString(imm));
    }

    /** {@code op dst, QWORD PTR [m]} for add/sub/cmp (opcode of the reg, r/m form is the r/m one plus 2). */
    private void alu(Alu op, Gpr dst, Mem m) {
        int start = size;
        rex(true, bit3(dst.code()), indexBit3(m), bit3(m.base().code()));
        emit(op.opcode + 2);
        modrmMemory(dst.code(), m, 1);
        list(start, op.mnemonic + " " + dst.name64() + ",QWORD PTR " + m.text());
    }

    public void add(Gpr dst, Gpr src) {
        alu(Alu.ADD, dst, src);
    }

    public void add(Gpr dst, int imm) {
        alu(Alu.ADD, dst, imm);
    }

    public void add(Gpr dst, Mem m) {
        alu(Alu.ADD, dst, m);
    }

    public void sub(Gpr dst, Gpr src) {
        alu(Alu.SUB, dst, src);
    }

    public void sub(Gpr dst, int imm) {
        alu(Alu.SUB, dst, imm);
    }

    public void sub(Gpr dst, Mem m) {
        alu(Alu.SUB, dst, m);
    }

    public void cmp(Gpr a, Gpr b) {
        alu(Alu.CMP, a, b);
    }

    public void cmp(Gpr a, int imm) {
        alu(Alu.CMP, a, imm);
    }

    public void or(Gpr dst, Gpr src) {
        alu(Alu.OR, dst, src);
    }

    /** {@code and dst, imm} (sign-extended): {@code and rsp, -64} aligns the stack to a cache line. */
    public void and(Gpr dst, int imm) {
        alu(Alu.AND, dst, imm);
    }

    /** {@code xor dst32, src32}: the usual way to zero a register. */
    public void xor32(Gpr dst, Gpr src) {
        int start = size;
        rex(false, bit3(src.code()), 0, bit3(dst.code()));
        emit(0x31);
        modrmRegister(src.code(), dst.code());
        list(start, "xor " + dst.name32() + "," + src.name32());
    }

    /** {@code imul dst, src} (64-bit, low half kept). */
    public void imul(Gpr dst, Gpr src) {
        int start = size;
        rex(true, bit3(dst.code()), 0, bit3(src.code()));
        emit(0x0F);
        emit(0xAF);
        modrmRegister(dst.code(), src.code());
        list(start, "imul " + dst.name64() + "," + src.name64());
    }

    private void shift(int digit, String mnemonic, Gpr dst, int count) {
        if (count < 0 || count > 63) {
            throw new IllegalArgumentException("shift count " + count + " is outside 0-63");
        }
        int start = size;
        rex(true, 0, 0, bit3(dst.code()));
        emit(0xC1);
        modrmRegister(digit, dst.code());
        emit(count);
        list(start, mnemonic + " " + dst.name64() + ",0x" + Integer.toHexString(count));
    }

    public void shl(Gpr dst, int count) {
        shift(4, "shl", dst, count);
    }

    public void shr(Gpr dst, int count) {
        shift(5, "shr", dst, count);
    }

    /** {@code dec dst} (64-bit; sets ZF for the loop branch). */
    public void dec(Gpr dst) {
        int start = size;
        rex(true, 0, 0, bit3(dst.code()));
        emit(0xFF);
        modrmRegister(1, dst.code());
        list(start, "dec " + dst.name64());
    }

    public void push(Gpr r) {
        int start = size;
        rex(false, 0, 0, bit3(r.code()));
        emit(0x50 + (r.code() & 7));
        list(start, "push " + r.name64());
    }

    public void pop(Gpr r) {
        int start = size;
        rex(false, 0, 0, bit3(r.code()));
        emit(0x58 + (r.code() & 7));
        list(start, "pop " + r.name64());
    }

    /** {@code jcc label} (always the rel32 form, so code size does not depend on distances). */
    public void j(Cond cond, Label label) {
        int start = size;
        emit(0x0F);
        emit(0x80 | cond.code);
        jumpTarget(label);
        listing.add(new Line(start, cond.mnemonic, label));
    }

    /** The registers System V makes a callee preserve (besides rsp), in the order the kernels push them. */
    private static final Gpr[] CALLEE_SAVED = {Gpr.RBX, Gpr.RBP, Gpr.R12, Gpr.R13, Gpr.R14, Gpr.R15};

    /** Pushes rbx, rbp and r12-r15: a generated function's prologue. */
    public void pushCalleeSaved() {
        for (Gpr r : CALLEE_SAVED) {
            push(r);
        }
    }

    /** Pops what {@link #pushCalleeSaved} pushed, in reverse. */
    public void popCalleeSaved() {
        for (int i = CALLEE_SAVED.length - 1; i >= 0; i--) {
            pop(CALLEE_SAVED[i]);
        }
    }

    /** {@code jmp label} (rel32). */
    public void jmp(Label label) {
        int start = size;
        emit(0xE9);
        jumpTarget(label);
        listing.add(new Line(start, "jmp", label));
    }

    public void ret() {
        int start = size;
        emit(0xC3);
        list(start, "ret");
    }

    public void cpuid() {
        int start = size;
        emit(0x0F);
        emit(0xA2);
        list(start, "cpuid");
    }

    /** {@code xgetbv}: reads the extended control register {@code ecx} into {@code edx:eax}. */
    public void xgetbv() {
        int start = size;
        emit(0x0F);
        emit(0x01);
        emit(0xD0);
        list(start, "xgetbv");
    }

    /** {@code ud2}: an instruction guaranteed to be invalid (the crash tests use it). */
    public void ud2() {
        int start = size;
        emit(0x0F);
        emit(0x0B);
        list(start, "ud2");
    }

    /** {@code vzeroupper}: leave no dirty upper vector state behind for the JVM's SSE code. */
    public void vzeroupper() {
        int start = size;
        emit(0xC5);
        emit(0xF8);
        emit(0x77);
        list(start, "vzeroupper");
    }

    // ------------------------------------------------------------------------------ opmask moves (VEX)

    /** {@code kmovw k, WORD PTR [m]}. */
    public void kmovw(Mask k, Mem m) {
        usesAvx512 = true;
        int start = size;
        vex(0, indexBit3(m), bit3(m.base().code()), MAP_0F, false, 0, false, PP_NONE);
        emit(0x90);
        modrmMemory(k.index(), m, 1);
        list(start, "kmovw " + k.name() + ",WORD PTR " + m.text());
    }

    /** {@code kmovw k, r32}. */
    public void kmovw(Mask k, Gpr r) {
        usesAvx512 = true;
        int start = size;
        vex(0, 0, bit3(r.code()), MAP_0F, false, 0, false, PP_NONE);
        emit(0x92);
        modrmRegister(k.index(), r.code());
        list(start, "kmovw " + k.name() + "," + r.name32());
    }

    // ------------------------------------------------------------------------ vector instructions (EVEX)

    /** {@code vpdpbusd dst, a, b}: dst.dword[i] += sum of four u8(a) * s8(b) products (wrapping, no saturation). */
    public void vpdpbusd(Vec dst, Vec a, Vec b) {
        evexOp("vpdpbusd", PP_66, MAP_0F38, 0x50, dst, null, false, a, b);
    }

    /** {@code vpdpbusd dst, a, [m]}: the s8 operand from memory (a full vector). */
    public void vpdpbusd(Vec dst, Vec a, Mem b) {
        evexOp("vpdpbusd", PP_66, MAP_0F38, 0x50, dst, null, false, a, b, false);
    }

    /** {@code vpdpbusd dst, a, DWORD BCST [m]}: four s8 values from memory, broadcast to every dword lane. */
    public void vpdpbusdBroadcast(Vec dst, Vec a, Mem b) {
        evexOp("vpdpbusd", PP_66, MAP_0F38, 0x50, dst, null, false, a, b, true);
    }

    /** {@code {vex} vpdpbusd dst, a, b}: the AVX-VNNI (VEX, 256-bit) form for CPUs without AVX-512. */
    public void vpdpbusdVex(Vec dst, Vec a, Vec b) {
        requireSameWidth(dst, a, b);
        requireVexRegisters(dst, a, b);
        int start = size;
        vex(bit3(dst.index()), 0, bit3(b.index()), MAP_0F38, false, a.index(), dst.bits() == 256, PP_66);
        emit(0x50);
        modrmRegister(dst.index(), b.index());
        list(start, "{vex} vpdpbusd " + dst.name() + "," + a.name() + "," + b.name());
    }

    /** {@code {vex} vpdpbusd dst, a, YMMWORD PTR [m]}. */
    public void vpdpbusdVex(Vec dst, Vec a, Mem b) {
        requireSameWidth(dst, a);
        requireVexRegisters(dst, a);
        int start = size;
        vex(bit3(dst.index()), indexBit3(b), bit3(b.base().code()), MAP_0F38, false, a.index(), dst.bits() == 256,
                PP_66);
        emit(0x50);
        modrmMemory(dst.index(), b, 1);
        list(start, "{vex} vpdpbusd " + dst.name() + "," + a.name() + "," + dst.memoryKeyword() + " PTR " + b.text());
    }

    /** {@code vpbroadcastd dst, DWORD PTR [m]}. */
    public void vpbroadcastd(Vec dst, Mem m) {
        int start = size;
        evexRRM(PP_66, MAP_0F38, 0x58, dst.index(), 0, m, lengthCode(dst), false, 0, false, 4);
        list(start, "vpbroadcastd " + dst.name() + ",DWORD PTR " + m.text());
    }

    /** {@code vpbroadcastd dst, r32}. */
    public void vpbroadcastd(Vec dst, Gpr src) {
        int start = size;
        evex(dst.index(), 0, bit3(src.code()), MAP_0F38, false, 0, lengthCode(dst), false, 0, false, PP_66);
        emit(0x7C);
        modrmRegister(dst.index(), src.code());
        list(start, "vpbroadcastd " + dst.name() + "," + src.name32());
    }

    /** {@code vmovdqu32 dst{k}{z}, [m]}: an unaligned load of dwords. */
    public void vmovdqu32(Vec dst, Mask k, boolean zeroing, Mem m) {
        int start = size;
        evexRRM(PP_F3, MAP_0F, 0x6F, dst.index(), 0, m, lengthCode(dst), false, maskCode(k), zeroing, dst.bytes());
        list(start, "vmovdqu32 " + dst.name() + maskText(k, zeroing) + "," + dst.memoryKeyword() + " PTR "
                + m.text());
    }

    /** {@code vmovdqu32 dst, [m]}. */
    public void vmovdqu32(Vec dst, Mem m) {
        vmovdqu32(dst, null, false, m);
    }

    /** {@code vmovdqu32 [m]{k}, src}: a store of the lanes selected by {@code k} (all with k0 or null). */
    public void vmovdqu32(Mem m, Mask k, Vec src) {
        int start = size;
        evexRRM(PP_F3, MAP_0F, 0x7F, src.index(), 0, m, lengthCode(src), false, maskCode(k), false, src.bytes());
        list(start, "vmovdqu32 " + src.memoryKeyword() + " PTR " + m.text() + maskText(k, false) + "," + src.name());
    }

    /** {@code vmovups [m]{k}, src}. */
    public void vmovups(Mem m, Mask k, Vec src) {
        int start = size;
        evexRRM(PP_NONE, MAP_0F, 0x11, src.index(), 0, m, lengthCode(src), false, maskCode(k), false, src.bytes());
        list(start, "vmovups " + src.memoryKeyword() + " PTR " + m.text() + maskText(k, false) + "," + src.name());
    }

    /** {@code vmovups dst, [m]}. */
    public void vmovups(Vec dst, Mem m) {
        int start = size;
        evexRRM(PP_NONE, MAP_0F, 0x10, dst.index(), 0, m, lengthCode(dst), false, 0, false, dst.bytes());
        list(start, "vmovups " + dst.name() + "," + dst.memoryKeyword() + " PTR " + m.text());
    }

    /**
     * {@code vpmovdb [m]{k}, src}: the low byte of each dword lane, stored (16 bytes for a zmm source); the values
     * must already be in range (it truncates).
     */
    public void vpmovdb(Mem m, Mask k, Vec src) {
        int start = size;
        int stored = src.bytes() / 4;
        evexRRM(PP_F3, MAP_0F38, 0x31, src.index(), 0, m, lengthCode(src), false, maskCode(k), false, stored);
        String keyword = stored == 16 ? "XMMWORD" : stored == 8 ? "QWORD" : "DWORD";
        list(start, "vpmovdb " + keyword + " PTR " + m.text() + maskText(k, false) + "," + src.name());
    }

    /** {@code vpxord dst{k}, a, b} (with a == b == dst: zero the lanes of k, or the whole register). */
    public void vpxord(Vec dst, Mask k, Vec a, Vec b) {
        evexOp("vpxord", PP_66, MAP_0F, 0xEF, dst, k, false, a, b);
    }

    public void vpxord(Vec dst, Vec a, Vec b) {
        vpxord(dst, null, a, b);
    }

    public void vpaddd(Vec dst, Vec a, Vec b) {
        evexOp("vpaddd", PP_66, MAP_0F, 0xFE, dst, null, false, a, b);
    }

    public void vpaddd(Vec dst, Vec a, Mem b) {
        evexOp("vpaddd", PP_66, MAP_0F, 0xFE, dst, null, false, a, b, false);
    }

    public void vpadddBroadcast(Vec dst, Vec a, Mem b) {
        evexOp("vpaddd", PP_66, MAP_0F, 0xFE, dst, null, false, a, b, true);
    }

    public void vpsubd(Vec dst, Vec a, Vec b) {
        evexOp("vpsubd", PP_66, MAP_0F, 0xFA, dst, null, false, a, b);
    }

    /** {@code vpmulld dst, a, b}: dword products, low 32 bits. */
    public void vpmulld(Vec dst, Vec a, Vec b) {
        evexOp("vpmulld", PP_66, MAP_0F38, 0x40, dst, null, false, a, b);
    }

    public void vpmulldBroadcast(Vec dst, Vec a, Mem b) {
        evexOp("vpmulld", PP_66, MAP_0F38, 0x40, dst, null, false, a, b, true);
    }

    public void vpmaxsdBroadcast(Vec dst, Vec a, Mem b) {
        evexOp("vpmaxsd", PP_66, MAP_0F38, 0x3D, dst, null, false, a, b, true);
    }

    public void vpminsdBroadcast(Vec dst, Vec a, Mem b) {
        evexOp("vpminsd", PP_66, MAP_0F38, 0x39, dst, null, false, a, b, true);
    }

    /** {@code vcvtdq2ps dst, src}: int32 to float32, rounding to nearest even (as Java's {@code (float) int}). */
    public void vcvtdq2ps(Vec dst, Vec src) {
        requireSameWidth(dst, src);
        int start = size;
        evexRRR(PP_NONE, MAP_0F, 0x5B, dst.index(), 0, src, lengthCode(dst), 0, false);
        list(start, "vcvtdq2ps " + dst.name() + "," + src.name());
    }

    /**
     * {@code vcvtps2dq dst, src{rn-sae}}: float32 to int32 rounding to nearest even whatever MXCSR says (embedded
     * rounding, 512-bit only); NaN and out-of-range values give {@code 0x80000000}.
     */
    public void vcvtps2dqRoundNearest(Vec dst, Vec src) {
        requireSameWidth(dst, src);
        if (dst.bits() != 512) {
            throw new IllegalArgumentException("embedded rounding needs 512-bit registers, got " + dst);
        }
        int start = size;
        // With EVEX.b on a register form, L'L carries the rounding mode: 00 = round to nearest even.
        evex(dst.index(), src.index() >> 4, src.index() >> 3, MAP_0F, false, 0, 0, true, 0, false, PP_66);
        emit(0x5B);
        modrmRegister(dst.index(), src.index());
        list(start, "vcvtps2dq " + dst.name() + "," + src.name() + "{rn-sae}");
    }

    public void vaddpsBroadcast(Vec dst, Vec a, Mem b) {
        evexOp("vaddps", PP_NONE, MAP_0F, 0x58, dst, null, false, a, b, true);
    }

    public void vmulpsBroadcast(Vec dst, Vec a, Mem b) {
        evexOp("vmulps", PP_NONE, MAP_0F, 0x59, dst, null, false, a, b, true);
    }

    /** {@code vfmadd213ps dst, a, DWORD BCST [m]}: {@code dst = a*dst + m}, one rounding. */
    public void vfmadd213psBroadcast(Vec dst, Vec a, Mem b) {
        evexOp("vfmadd213ps", PP_66, MAP_0F38, 0xA8, dst, null, false, a, b, true);
    }

    public void vaddps(Vec dst, Vec a, Mem b) {
        evexOp("vaddps", PP_NONE, MAP_0F, 0x58, dst, null, false, a, b, false);
    }

    public void vmulps(Vec dst, Vec a, Mem b) {
        evexOp("vmulps", PP_NONE, MAP_0F, 0x59, dst, null, false, a, b, false);
    }

    public void vmulps(Vec dst, Vec a, Vec b) {
        evexOp("vmulps", PP_NONE, MAP_0F, 0x59, dst, null, false, a, b);
    }

    /** {@code vminps dst, a, b}: where either is NaN the result is {@code b} (the second source). */
    public void vminps(Vec dst, Vec a, Vec b) {
        evexOp("vminps", PP_NONE, MAP_0F, 0x5D, dst, null, false, a, b);
    }

    /** {@code vmaxps dst, a, b}: where either is NaN the result is {@code b} (the second source). */
    public void vmaxps(Vec dst, Vec a, Vec b) {
        evexOp("vmaxps", PP_NONE, MAP_0F, 0x5F, dst, null, false, a, b);
    }

    /** {@code vfmadd213ps dst, a, [m]}: {@code dst = a*dst + m}, one rounding (Java's {@code Math.fma}). */
    public void vfmadd213ps(Vec dst, Vec a, Mem b) {
        evexOp("vfmadd213ps", PP_66, MAP_0F38, 0xA8, dst, null, false, a, b, false);
    }

    /** {@code vcmpps k, a, b, predicate}. */
    public void vcmpps(Mask k, Vec a, Vec b, CmpPredicate predicate) {
        requireSameWidth(a, b);
        int start = size;
        evexRRR(PP_NONE, MAP_0F, 0xC2, k.index(), a.index(), b, lengthCode(a), 0, false);
        emit(predicate.imm());
        list(start, "vcmp" + predicate.name().toLowerCase(java.util.Locale.ROOT) + "ps " + k.name() + "," + a.name()
                + "," + b.name());
    }

    /** {@code vbroadcastss dst, DWORD PTR [m]}. */
    public void vbroadcastss(Vec dst, Mem m) {
        int start = size;
        evexRRM(PP_66, MAP_0F38, 0x18, dst.index(), 0, m, lengthCode(dst), false, 0, false, 4);
        list(start, "vbroadcastss " + dst.name() + ",DWORD PTR " + m.text());
    }

    // ------------------------------------------------ AVX2 / AVX-VNNI vector instructions (VEX: xmm/ymm 0-15)
    //
    // For CPUs with AVX-VNNI but no AVX-512. Every method here ends in "Vex" (as vpdpbusdVex above), so a generator
    // that must stay free of EVEX reads as such; usesAvx512() checks it. VEX has no opmasks, no embedded broadcast
    // and no embedded rounding: broadcasts are separate loads and masked stores take their mask in a vector register.

    public void vpadddVex(Vec dst, Vec a, Vec b) {
        vex3("vpaddd", PP_66, MAP_0F, 0xFE, dst, a, b);
    }

    public void vpadddVex(Vec dst, Vec a, Mem b) {
        vex3("vpaddd", PP_66, MAP_0F, 0xFE, dst, a, b);
    }

    /** {@code vpmulld dst, a, b}: dword products, low 32 bits. */
    public void vpmulldVex(Vec dst, Vec a, Vec b) {
        vex3("vpmulld", PP_66, MAP_0F38, 0x40, dst, a, b);
    }

    public void vpmulldVex(Vec dst, Vec a, Mem b) {
        vex3("vpmulld", PP_66, MAP_0F38, 0x40, dst, a, b);
    }

    public void vpmaxsdVex(Vec dst, Vec a, Vec b) {
        vex3("vpmaxsd", PP_66, MAP_0F38, 0x3D, dst, a, b);
    }

    public void vpminsdVex(Vec dst, Vec a, Vec b) {
        vex3("vpminsd", PP_66, MAP_0F38, 0x39, dst, a, b);
    }

    /** {@code vpandn dst, a, b}: {@code ~a & b}. */
    public void vpandnVex(Vec dst, Vec a, Vec b) {
        vex3("vpandn", PP_66, MAP_0F, 0xDF, dst, a, b);
    }

    /** {@code vpxor dst, a, b} (with a == b: zero the register). */
    public void vpxorVex(Vec dst, Vec a, Vec b) {
        vex3("vpxor", PP_66, MAP_0F, 0xEF, dst, a, b);
    }

    /** {@code vpackusdw dst, a, b}: dwords to words with unsigned saturation, per 128-bit lane: a's four, b's four. */
    public void vpackusdwVex(Vec dst, Vec a, Vec b) {
        vex3("vpackusdw", PP_66, MAP_0F38, 0x2B, dst, a, b);
    }

    /** {@code vpackuswb dst, a, b}: words to bytes with unsigned saturation, per 128-bit lane: a's eight, b's eight. */
    public void vpackuswbVex(Vec dst, Vec a, Vec b) {
        vex3("vpackuswb", PP_66, MAP_0F, 0x67, dst, a, b);
    }

    public void vaddpsVex(Vec dst, Vec a, Vec b) {
        vex3("vaddps", PP_NONE, MAP_0F, 0x58, dst, a, b);
    }

    public void vaddpsVex(Vec dst, Vec a, Mem b) {
        vex3("vaddps", PP_NONE, MAP_0F, 0x58, dst, a, b);
    }

    public void vmulpsVex(Vec dst, Vec a, Vec b) {
        vex3("vmulps", PP_NONE, MAP_0F, 0x59, dst, a, b);
    }

    public void vmulpsVex(Vec dst, Vec a, Mem b) {
        vex3("vmulps", PP_NONE, MAP_0F, 0x59, dst, a, b);
    }

    /** {@code vminps dst, a, b}: where either is NaN the result is {@code b} (the second source). */
    public void vminpsVex(Vec dst, Vec a, Vec b) {
        vex3("vminps", PP_NONE, MAP_0F, 0x5D, dst, a, b);
    }

    /** {@code vmaxps dst, a, b}: where either is NaN the result is {@code b} (the second source). */
    public void vmaxpsVex(Vec dst, Vec a, Vec b) {
        vex3("vmaxps", PP_NONE, MAP_0F, 0x5F, dst, a, b);
    }

    /** {@code vfmadd213ps dst, a, b}: {@code dst = a*dst + b}, one rounding (Java's {@code Math.fma}). */
    public void vfmadd213psVex(Vec dst, Vec a, Vec b) {
        vex3("vfmadd213ps", PP_66, MAP_0F38, 0xA8, dst, a, b);
    }

    public void vfmadd213psVex(Vec dst, Vec a, Mem b) {
        vex3("vfmadd213ps", PP_66, MAP_0F38, 0xA8, dst, a, b);
    }

    /** {@code vcmpps dst, a, b, predicate}: all ones in the lanes where the predicate holds, else zero. */
    public void vcmppsVex(Vec dst, Vec a, Vec b, CmpPredicate predicate) {
        requireSameWidth(dst, a, b);
        vexRegisters(ops("vcmp" + predicate.name().toLowerCase(java.util.Locale.ROOT) + "ps", dst, a, b), PP_NONE,
                MAP_0F, false, 0xC2, dst, a, b, predicate.imm());
    }

    /** {@code vcvtdq2ps dst, src}: int32 to float32, rounding to nearest even (as Java's {@code (float) int}). */
    public void vcvtdq2psVex(Vec dst, Vec src) {
        requireSameWidth(dst, src);
        vexRegisters(ops("vcvtdq2ps", dst, src), PP_NONE, MAP_0F, false, 0x5B, dst, null, src, -1);
    }

    /**
     * {@code vcvtps2dq dst, src}: float32 to int32 in the rounding mode of MXCSR (VEX has no embedded rounding).
     * The JVM runs Java code with MXCSR at its default, round to nearest even, and restores it around native calls
     * (as it must: Java's float arithmetic depends on it), so this is {@code Math.rint}; the kernels' self-test
     * checks it on exact ties. NaN and out-of-range values give {@code 0x80000000}.
     */
    public void vcvtps2dqVex(Vec dst, Vec src) {
        requireSameWidth(dst, src);
        vexRegisters(ops("vcvtps2dq", dst, src), PP_66, MAP_0F, false, 0x5B, dst, null, src, -1);
    }

    /** {@code vpermq dst, src, imm}: qword {@code i} of dst is qword {@code imm[2i+1:2i]} of src (256-bit only). */
    public void vpermqVex(Vec dst, Vec src, int imm) {
        requireSameWidth(dst, src);
        if (dst.bits() != 256) {
            throw new IllegalArgumentException("vpermq needs ymm registers, got " + dst);
        }
        vexRegisters(ops("vpermq", dst, src, "0x" + Integer.toHexString(imm & 0xFF)), PP_66, MAP_0F3A, true, 0x00,
                dst, null, src, imm & 0xFF);
    }

    /** {@code vextracti128 dst, src, imm}: the low ({@code imm = 0}) or high (1) half of ymm {@code src}. */
    public void vextracti128Vex(Vec dst, Vec src, int imm) {
        if (dst.bits() != 128 || src.bits() != 256) {
            throw new IllegalArgumentException("vextracti128 takes xmm, ymm; got " + dst + ", " + src);
        }
        vexRegisters(ops("vextracti128", dst, src, "0x" + Integer.toHexString(imm & 1)), PP_66, MAP_0F3A, false,
                0x39, src, null, dst, imm & 1);
    }

    /** {@code vpbroadcastd dst, DWORD PTR [m]} (AVX2). */
    public void vpbroadcastdVex(Vec dst, Mem m) {
        vexMemory(ops("vpbroadcastd", dst, "DWORD PTR " + m.text()), PP_66, MAP_0F38, false, 0x58, dst, null, m);
    }

    /** {@code vbroadcastss dst, DWORD PTR [m]}. */
    public void vbroadcastssVex(Vec dst, Mem m) {
        vexMemory(ops("vbroadcastss", dst, "DWORD PTR " + m.text()), PP_66, MAP_0F38, false, 0x18, dst, null, m);
    }

    /** {@code vmovdqu dst, [m]}: an unaligned load. */
    public void vmovdquVex(Vec dst, Mem m) {
        vexMemory(ops("vmovdqu", dst, vectorMem(dst, m)), PP_F3, MAP_0F, false, 0x6F, dst, null, m);
    }

    /** {@code vmovdqu [m], src}: an unaligned store of the whole register. */
    public void vmovdquVex(Mem m, Vec src) {
        vexMemory(ops("vmovdqu", vectorMem(src, m), src), PP_F3, MAP_0F, false, 0x7F, src, null, m);
    }

    /**
     * {@code vpmaskmovd [m], mask, src}: stores the dwords of {@code src} whose lane in {@code mask} has its sign
     * bit set; the others are neither written nor touched (no fault even where they would be outside any mapping).
     */
    public void vpmaskmovdVex(Mem m, Vec mask, Vec src) {
        requireSameWidth(mask, src);
        vexMemory(ops("vpmaskmovd", vectorMem(src, m), mask, src), PP_66, MAP_0F38, false, 0x8E, src, mask, m);
    }

    /** {@code vmaskmovps [m], mask, src}: {@link #vpmaskmovdVex} for floats. */
    public void vmaskmovpsVex(Mem m, Vec mask, Vec src) {
        requireSameWidth(mask, src);
        vexMemory(ops("vmaskmovps", vectorMem(src, m), mask, src), PP_66, MAP_0F38, false, 0x2E, src, mask, m);
    }

    /** Raw bytes (the crash tests plant invalid code with it); listed as {@code (bad)}. */
    public void bytes(byte... raw) {
        Objects.requireNonNull(raw, "raw");
        int start = size;
        for (byte b : raw) {
            emit(b);
        }
        list(start, "(bytes)");
    }
}
