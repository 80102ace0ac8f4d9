package dev.graft.kernels;

import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Byte buffers for one call (a convolution's im2col matrix, activations packed for the generated kernel), lent from
 * a small lock-free pool for the same reason as {@link PackingScratch}: a fresh 2-4 MiB array per call costs its
 * zeroing and garbage-collection churn (measured on conv3x3 1x64x56x56: 3.6 MB allocated per call). A call takes a
 * buffer out, so no two calls ever share one; contents are never assumed.
 */
final class ByteScratch {

    private static final int SLOTS = 8;
    /** Buffers larger than this are not kept. */
    private static final int MAX_KEPT = 64 << 20;
    private static final AtomicReferenceArray<byte[]> IDLE = new AtomicReferenceArray<>(SLOTS);

    private ByteScratch() {
    }

    /** An idle buffer of at least {@code size} bytes if there is one, otherwise a new one of exactly that size. */
    static byte[] take(int size) {
        for (int i = 0; i < SLOTS; i++) {
            byte[] b = IDLE.get(i);
            if (b != null && b.length >= size && IDLE.compareAndSet(i, b, null)) {
                return b;
            }
        }
        return new byte[size];
    }

    /** Returns a buffer to the pool (or drops it when the pool is full or it is very large). */
    static void give(byte[] b) {
        if (b.length > MAX_KEPT) {
            return;
        }
        for (int i = 0; i < SLOTS; i++) {
            if (IDLE.compareAndSet(i, null, b)) {
                return;
            }
        }
    }
}
