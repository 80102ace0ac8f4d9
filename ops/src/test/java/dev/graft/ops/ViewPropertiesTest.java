package dev.graft.ops;

import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Random chains of views (permute, slice, transpose, expand, reshape, select, unsqueeze, squeeze) against the
 * {@link Ref} oracle, and the data-moving ops (contiguous, cat, split, pad, to) on such views. Everything here is
 * exact: no arithmetic happens.
 */
class ViewPropertiesTest {

    @Provide
    Arbitrary<int[]> shapes() {
        return ViewChains.shapes();
    }

    @Provide
    Arbitrary<List<Integer>> chains() {
        return ViewChains.chains();
    }

    @Property(tries = 100)
    void viewChainsMatchTheReference(@ForAll("shapes") int[] shape, @ForAll("chains") List<Integer> chain,
                                     @ForAll long seed) {
        ViewChains.Pair base = ViewChains.randomBase(shape, seed);
        ViewChains.Pair p = ViewChains.applyChain(base, chain);
        Ref.assertExact(p.r(), p.t());
        // toFloatArray walks the strides with the cursor; the reference is row-major.
        Ref.assertSameValues(p.r().data, p.t().toFloatArray());
        // Without a reshape step (code % 6 == 4, the only one that may copy) the result is a view of the base.
        if (chain.stream().noneMatch(code -> code % 6 == 4)) {
            assertTrue(p.t().sharesStorageWith(base.t()), ViewChains.describe(p));
        }
    }

    @Property(tries = 60)
    void contiguousAndReshapeKeepValues(@ForAll("shapes") int[] shape, @ForAll("chains") List<Integer> chain,
                                        @ForAll long seed) {
        ViewChains.Pair p = ViewChains.applyChain(ViewChains.randomBase(shape, seed), chain);
        Tensor c = p.t().contiguous();
        assertTrue(c.isContiguous()); // (a tensor that already is keeps its strides, which size-1 dims ignore)
        Ref.assertExact(p.r(), c);
        if (p.t().isContiguous()) {
            assertTrue(c.sharesStorageWith(p.t()));
        }
        Tensor flat = p.t().reshape(-1);
        Ref.assertExact(p.r().reshape(Ref.numel(p.r().shape)), flat);
        // view succeeds exactly when reshape did not copy.
        boolean viewed = flat.sharesStorageWith(p.t());
        if (viewed) {
            Ref.assertExact(p.r().reshape(Ref.numel(p.r().shape)), p.t().view(-1));
        } else {
            assertThrows(ShapeException.class, () -> p.t().view(-1));
        }
        // A contiguous tensor can always be viewed.
        if (p.t().isContiguous()) {
            assertTrue(viewed);
        }
    }

    @Property(tries = 60)
    void catAndSplitAreInverse(@ForAll("shapes") int[] shape, @ForAll("chains") List<Integer> chain,
                               @ForAll long seed, @ForAll @IntRange(min = 0, max = 3) int dimChoice) {
        ViewChains.Pair p = ViewChains.applyChain(ViewChains.randomBase(shape, seed), chain);
        Tensor x = p.t();
        if (x.dim() == 0) {
            return;
        }
        int dim = dimChoice % x.dim();
        Random rnd = new Random(seed);
        // Random split sizes (zeros allowed) adding up to the dimension.
        int size = x.size(dim);
        int pieces = 1 + rnd.nextInt(3);
        int[] sizes = new int[pieces];
        int left = size;
        for (int i = 0; i < pieces - 1; i++) {
            sizes[i] = rnd.nextInt(left + 1);
            left -= sizes[i];
        }
        sizes[pieces - 1] = left;
        Tensor[] parts = (Tensor[]) Dispatch.call(MovementOps.SPLIT, x, sizes, dim);
        assertEquals(pieces, parts.length);
        int at = 0;
        for (int i = 0; i < pieces; i++) {
            Ref.assertExact(p.r().slice(dim, at, at + sizes[i], 1), parts[i]);
            assertTrue(parts[i].sharesStorageWith(x));
            at += sizes[i];
        }
        // cat of the pieces, and of a second tensor, along dim
        Tensor cat = Dispatch.apply(MovementOps.CAT, parts, dim - (rnd.nextBoolean() ? x.dim() : 0));
        Ref.assertExact(p.r(), cat);
        Tensor other = Tensor.randn(rnd, shapeWith(x.shape(), dim, 2));
        Tensor both = Dispatch.apply(MovementOps.CAT, new Tensor[] {x, other}, dim);
        Ref ro = Ref.of(other);
        Ref expected = Ref.build(both.shape(), idx -> {
            int[] i = idx.clone();
            if (i[dim] < size) {
                return p.r().get(i);
            }
            i[dim] -= size;
            return ro.get(i);
        });
        Ref.assertExact(expected, both);
    }

    @Property(tries = 60)
    void padMatchesReference(@ForAll("shapes") int[] shape, @ForAll("chains") List<Integer> chain,
                             @ForAll long seed) {
        ViewChains.Pair p = ViewChains.applyChain(ViewChains.randomBase(shape, seed), chain);
        Tensor x = p.t();
        Random rnd = new Random(seed ^ 0x5eed);
        int padded = rnd.nextInt(x.dim() + 1);
        int[] pads = new int[2 * padded];
        for (int i = 0; i < pads.length; i++) {
            int d = x.dim() - 1 - i / 2;
            pads[i] = rnd.nextInt(4) - Math.min(1, x.size(d) / 2); // crops at most 1 from each end of a dim >= 2
        }
        float value = rnd.nextBoolean() ? 0f : -1.5f;
        Tensor out = Dispatch.apply(MovementOps.PAD, x, pads, value);
        int rank = x.dim();
        int[] before = new int[rank];
        int[] outShape = p.r().shape.clone();
        for (int i = 0; i < padded; i++) {
            int d = rank - 1 - i;
            before[d] = pads[2 * i];
            outShape[d] += pads[2 * i] + pads[2 * i + 1];
        }
        Ref expected = Ref.build(outShape, idx -> {
            int[] src = new int[rank];
            for (int d = 0; d < rank; d++) {
                src[d] = idx[d] - before[d];
                if (src[d] < 0 || src[d] >= p.r().shape[d]) {
                    return value;
                }
            }
            return p.r().get(src);
        });
        Ref.assertExact(expected, out);
    }

    @Property(tries = 60)
    void toDtypeConvertsLikeACCast(@ForAll("shapes") int[] shape, @ForAll("chains") List<Integer> chain,
                                   @ForAll long seed) {
        ViewChains.Pair p = ViewChains.applyChain(ViewChains.randomBase(shape, seed), chain);
        // Scale up so that int8/uint8 wrap-around and truncation of negatives both happen.
        Tensor x = p.t().mul(40f);
        Ref r = p.r().map(v -> (float) (v * 40f));
        Ref.assertExact(r.map(v -> (long) v), x.to(DType.INT64));
        Ref.assertExact(r.map(v -> (int) (long) v), x.to(DType.INT32));
        Ref.assertExact(r.map(v -> (byte) (long) v), x.to(DType.INT8));
        Ref.assertExact(r.map(v -> ((byte) (long) v) & 0xFF), x.to(DType.UINT8));
        Ref.assertExact(r.map(v -> v != 0 ? 1 : 0), x.to(DType.BOOL));
        assertEquals(DType.BOOL, x.to(DType.BOOL).dtype());
        // integers back to float are exact (|v| < 2^24)
        Tensor i = x.to(DType.INT64);
        Ref.assertExact(r.map(v -> (long) v), i.to(DType.FLOAT32));
        Ref.assertExact(r.map(v -> (long) v), i.to(DType.INT32).to(DType.INT64));
        Tensor b = x.gt(0f);
        Ref.assertExact(r.map(v -> v > 0 ? 1 : 0), b.to(DType.FLOAT32));
        Ref.assertExact(r.map(v -> v > 0 ? 1 : 0), b.to(DType.UINT8));
        assertFalse(x.to(DType.INT32).sharesStorageWith(x));
    }

    private static int[] shapeWith(int[] shape, int dim, int size) {
        int[] s = shape.clone();
        s[dim] = size;
        return s;
    }
}
