package dev.graft.kernels;

import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Packing buffers for one GEMM call, lent from a small lock-free pool.
 *
 * <p>Why a pool: the packed B block is up to {@code KC x NC} floats (1 MiB by default). Allocating it per call
 * means the JVM zeroes it per call, which costs 15-25% on GEMMs with few rows (measured: 16x768x768). A
 * {@code ThreadLocal} would avoid that too, but keeps a buffer alive per thread ever used, which is unbounded with
 * virtual threads. This pool holds at most one idle set per slot; a call takes a set out (so no two calls ever
 * share one), gives it back when done, and when every slot is empty or full the extra set is simply allocated or
 * dropped for the garbage collector.
 *
 * <p>Buffer contents are never assumed: packing writes every element a call reads, padding included.
 */
final class PackingScratch {

    /** Packed A block, at least {@code packedASize(mc, kc)} floats. */
    final float[] a;
    /** Packed B block, at least {@code packedBSize(nc, kc)} floats. */
    final float[] b;
    /** One micro-kernel result tile. */
    final float[] tile;

    private PackingScratch(int aSize, int bSize, int tileSize) {
        this.a = new float[aSize];
        this.b = new float[bSize];
        this.tile = new float[tileSize];
    }

    /** A bounded pool of scratch sets of one fixed size (one pool per GEMM configuration). */
    static final class Pool {
        private final int aSize;
        private final int bSize;
        private final int tileSize;
        private final AtomicReferenceArray<PackingScratch> idle;

        Pool(int aSize, int bSize, int tileSize, int slots) {
            this.aSize = aSize;
            this.bSize = bSize;
            this.tileSize = tileSize;
            this.idle = new AtomicReferenceArray<>(slots);
        }

        /** An idle set if there is one, otherwise a new one; the caller owns it until {@link #release}. */
        PackingScratch acquire() {
            for (int i = 0; i < idle.length(); i++) {
                PackingScratch s = idle.getAndSet(i, null);
                if (s != null) {
                    return s;
                }
            }
            return new PackingScratch(aSize, bSize, tileSize);
        }

        /** Returns a set to the pool, or lets it go when every slot is taken. */
        void release(PackingScratch s) {
            for (int i = 0; i < idle.length(); i++) {
                if (idle.compareAndSet(i, null, s)) {
                    return;
                }
            }
        }
    }
}
