package dev.graft.kernels;

import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Int buffers for one call (the int32 accumulators of a block of rows in per-token dynamic quantization), lent from
 * a small lock-free pool as {@link ByteScratch} lends bytes: no zeroing per call, no buffer kept per thread. A call
 * takes a buffer out, so no two calls ever share one; contents are never assumed.
 */
final class IntScratch {

    private static final int SLOTS = 8;
    private static final AtomicReferenceArray<int[]> IDLE = new AtomicReferenceArray<>(SLOTS);

    private IntScratch() {
    }

    /** An idle buffer of at least {@code size} ints if there is one, otherwise a new one of exactly that size. */
    static int[] take(int size) {
        for (int i = 0; i < SLOTS; i++) {
            int[] b = IDLE.get(i);
            if (b != null && b.length >= size && IDLE.compareAndSet(i, b, null)) {
                return b;
            }
        }
        return new int[size];
    }

    /** Returns a buffer to the pool (or drops it when the pool is full). */
    static void give(int[] b) {
        for (int i = 0; i < SLOTS; i++) {
            if (IDLE.compareAndSet(i, null, b)) {
                return;
            }
        }
    }
}
