package dev.graft.ops;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * Random shapes and random chains of views for the property tests. A chain is a list of integers (so jqwik can
 * shrink it towards short lists of small numbers); each integer picks one view operation and its arguments. The
 * same operation is applied to the tensor (through the public API) and to the {@link Ref} oracle.
 */
final class ViewChains {
    private ViewChains() {
    }

    /** Chains never grow a tensor beyond this many elements (expand multiplies sizes). */
    static final int MAX_NUMEL = 600;

    /** Rank 0..4, every size 1..7 (so the primes 2, 3, 5, 7 appear as often as the composite sizes). */
    static Arbitrary<int[]> shapes() {
        return shapes(0, 4);
    }

    static Arbitrary<int[]> shapes(int minRank, int maxRank) {
        return Arbitraries.integers().between(1, 7).array(int[].class).ofMinSize(minRank).ofMaxSize(maxRank);
    }

    static Arbitrary<List<Integer>> chains() {
        return Arbitraries.integers().between(0, 100_000).list().ofMaxSize(5);
    }

    record Pair(Tensor t, Ref r) {
    }

    /** A contiguous float32 tensor of N(0, 4) values (seeded) with its reference. */
    static Pair randomBase(int[] shape, long seed) {
        Tensor t = Tensor.randn(new Random(seed), shape).mul(2f);
        return new Pair(t, Ref.of(t));
    }

    static Pair applyChain(Pair p, List<Integer> chain) {
        for (int code : chain) {
            p = step(p, code);
        }
        return p;
    }

    /** One view (or reshape) step chosen by {@code code}; steps that make no sense for the rank do nothing. */
    static Pair step(Pair p, int code) {
        Random rnd = new Random(code);
        Tensor t = p.t();
        Ref r = p.r();
        int rank = t.dim();
        switch (code % 6) {
            case 0 -> { // permute
                List<Integer> perm = new ArrayList<>();
                for (int i = 0; i < rank; i++) {
                    perm.add(i);
                }
                Collections.shuffle(perm, rnd);
                int[] dims = perm.stream().mapToInt(Integer::intValue).toArray();
                int[] asked = dims.clone();
                for (int i = 0; i < asked.length; i++) {
                    if (rnd.nextBoolean()) {
                        asked[i] -= rank; // negative dims mean the same
                    }
                }
                return new Pair(t.permute(asked), r.permute(dims));
            }
            case 1 -> { // slice (never empty), Python-style negative indices, steps 1..3
                if (rank == 0) {
                    return p;
                }
                int dim = rnd.nextInt(rank);
                int size = r.shape[dim];
                int start = rnd.nextInt(size);
                int end = start + 1 + rnd.nextInt(size - start + 2); // may run past the end: clamped
                int step = 1 + rnd.nextInt(3);
                int askStart = rnd.nextBoolean() ? start - size : start;
                int askEnd = end < size && rnd.nextBoolean() ? end - size : end; // end - size == 0 would mean 0
                int askDim = rnd.nextBoolean() ? dim - rank : dim;
                return new Pair(t.slice(askDim, askStart, askEnd, step), r.slice(dim, start, end, step));
            }
            case 2 -> { // transpose
                if (rank < 2) {
                    return p;
                }
                int a = rnd.nextInt(rank);
                int b = rnd.nextInt(rank);
                return new Pair(t.transpose(a, b - (rnd.nextBoolean() ? rank : 0)), r.transpose(a, b));
            }
            case 3 -> { // expand size-1 dims (stride 0), maybe with a new leading dimension
                int[] target = r.shape.clone();
                for (int d = 0; d < rank; d++) {
                    if (target[d] == 1) {
                        target[d] = 1 + rnd.nextInt(3);
                    }
                }
                if (rank < 4 && rnd.nextBoolean()) {
                    int[] bigger = new int[rank + 1];
                    bigger[0] = 1 + rnd.nextInt(3);
                    System.arraycopy(target, 0, bigger, 1, rank);
                    target = bigger;
                }
                if (Ref.numel(target) > MAX_NUMEL) {
                    return p;
                }
                int[] asked = target.clone();
                int shift = target.length - rank;
                for (int d = shift; d < target.length; d++) {
                    if (target[d] == r.shape[d - shift] && rnd.nextBoolean()) {
                        asked[d] = -1; // -1 keeps the size
                    }
                }
                return new Pair(t.expand(asked), r.expand(target));
            }
            case 4 -> { // reshape: flatten everything, merge two neighbours, or split one dimension
                int[] target = reshapeTarget(r.shape, rnd);
                return new Pair(t.reshape(target), r.reshape(target));
            }
            default -> { // select, unsqueeze or squeeze
                int what = rnd.nextInt(3);
                if (what == 0 && rank > 0) {
                    int dim = rnd.nextInt(rank);
                    int index = rnd.nextInt(r.shape[dim]);
                    int askIndex = rnd.nextBoolean() ? index - r.shape[dim] : index;
                    return new Pair(t.select(dim, askIndex), r.select(dim, index));
                }
                if (what == 1 && rank < 4) {
                    int dim = rnd.nextInt(rank + 1);
                    int[] target = new int[rank + 1];
                    for (int d = 0, j = 0; d <= rank; d++) {
                        target[d] = d == dim ? 1 : r.shape[j++];
                    }
                    return new Pair(t.unsqueeze(dim), r.reshape(target));
                }
                for (int d = 0; d < rank; d++) {
                    if (r.shape[d] == 1) {
                        int[] target = MovementOps.remove(r.shape, d);
                        return new Pair(t.squeeze(d), r.reshape(target));
                    }
                }
                return p;
            }
        }
    }

    static int[] reshapeTarget(int[] shape, Random rnd) {
        int rank = shape.length;
        int choice = rnd.nextInt(3);
        if (choice == 0 || rank == 0) {
            return rank == 0 ? new int[] {1} : new int[] {Ref.numel(shape)};
        }
        if (choice == 1 && rank >= 2) {
            int d = rnd.nextInt(rank - 1);
            int[] out = new int[rank - 1];
            for (int i = 0, j = 0; i < rank; i++) {
                if (i == d + 1) {
                    out[j - 1] *= shape[i];
                } else {
                    out[j++] = shape[i];
                }
            }
            return out;
        }
        // split dimension d into (f, size/f) for a divisor f (possibly 1)
        int d = rnd.nextInt(rank);
        if (rank >= 4) {
            return shape.clone();
        }
        List<Integer> divisors = new ArrayList<>();
        for (int f = 1; f <= shape[d]; f++) {
            if (shape[d] % f == 0) {
                divisors.add(f);
            }
        }
        int f = divisors.get(rnd.nextInt(divisors.size()));
        int[] out = new int[rank + 1];
        for (int i = 0, j = 0; i < rank; i++) {
            if (i == d) {
                out[j++] = f;
                out[j++] = shape[i] / f;
            } else {
                out[j++] = shape[i];
            }
        }
        return out;
    }

    /**
     * A tensor of the given shape whose memory is laid out in a random dimension order (a permuted contiguous tensor
     * viewed back), so operators see non-trivial strides. Values N(0, 4), or multiples of 0.5 in [-3, 3] when
     * {@code coarse} (so that comparisons and extrema meet ties).
     */
    static Pair strided(int[] shape, Random rnd, boolean coarse) {
        int rank = shape.length;
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < rank; i++) {
            order.add(i);
        }
        Collections.shuffle(order, rnd);
        int[] perm = order.stream().mapToInt(Integer::intValue).toArray();
        int[] stored = new int[rank];
        for (int i = 0; i < rank; i++) {
            stored[i] = shape[perm[i]];
        }
        float[] data = new float[Ref.numel(stored)];
        for (int i = 0; i < data.length; i++) {
            data[i] = coarse ? (rnd.nextInt(13) - 6) * 0.5f : (float) (2 * rnd.nextGaussian());
        }
        int[] inverse = new int[rank];
        for (int i = 0; i < rank; i++) {
            inverse[perm[i]] = i;
        }
        Tensor t = Tensor.of(data, stored).permute(inverse);
        return new Pair(t, Ref.of(t));
    }

    /** Rank 0..maxRank, sizes 1..7, from a seeded generator (for shapes derived inside a property). */
    static int[] randomShape(Random rnd, int maxRank) {
        int[] s = new int[rnd.nextInt(maxRank + 1)];
        for (int i = 0; i < s.length; i++) {
            s[i] = 1 + rnd.nextInt(7);
        }
        return s;
    }

    /** A shape that broadcasts with {@code shape}: some leading dims dropped, some sizes replaced by 1. */
    static int[] broadcastPartner(int[] shape, Random rnd) {
        int drop = rnd.nextInt(shape.length + 1);
        int[] s = Arrays.copyOfRange(shape, drop, shape.length);
        for (int i = 0; i < s.length; i++) {
            if (rnd.nextInt(3) == 0) {
                s[i] = 1;
            }
        }
        return s;
    }

    static String describe(Pair p) {
        Tensor t = p.t();
        return "shape " + Arrays.toString(t.shape()) + " strides " + Arrays.toString(t.strides()) + " offset "
                + t.storageOffset();
    }
}
