package dev.graft.ops;

import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * sum, mean, max, min and argmax over random dimension sets of random views, keepDim both ways, against a reference
 * that walks every input index and adds it to the output index it belongs to.
 *
 * <p>Tolerance for sum and mean: both sides accumulate in double, in different orders, so they differ by at most
 * about {@code n * 2^-53 * sum|x|} (n terms); the implementation then rounds to float32 (half an ulp, one ulp when
 * the rounding boundary falls between the two doubles). max, min and argmax are exact.
 */
class ReducePropertiesTest {

    @Provide
    Arbitrary<int[]> shapes() {
        return ViewChains.shapes();
    }

    @Provide
    Arbitrary<List<Integer>> chains() {
        return ViewChains.chains();
    }

    /** Reference reduction: output shape plus, per output element, the list of reduced input values in order. */
    private record Groups(int[] outShape, List<List<Double>> values) {
    }

    private static Groups group(Ref x, boolean[] reduce, boolean keepDim) {
        int rank = x.rank();
        List<Integer> kept = new ArrayList<>();
        for (int d = 0; d < rank; d++) {
            if (keepDim || !reduce[d]) {
                kept.add(reduce[d] ? 1 : x.shape[d]);
            }
        }
        int[] outShape = kept.stream().mapToInt(Integer::intValue).toArray();
        List<List<Double>> values = new ArrayList<>();
        for (int i = 0; i < Ref.numel(outShape); i++) {
            values.add(new ArrayList<>());
        }
        Ref shapeOnly = new Ref(outShape, new double[Ref.numel(outShape)]);
        for (int[] idx : Ref.indices(x.shape)) {
            int[] out = new int[outShape.length];
            for (int d = 0, j = 0; d < rank; d++) {
                if (keepDim) {
                    out[j++] = reduce[d] ? 0 : idx[d];
                } else if (!reduce[d]) {
                    out[j++] = idx[d];
                }
            }
            values.get(shapeOnly.flat(out)).add(x.get(idx));
        }
        return new Groups(outShape, values);
    }

    private static Ref reduceRef(Groups g, java.util.function.ToDoubleFunction<List<Double>> f) {
        double[] d = new double[g.values().size()];
        for (int i = 0; i < d.length; i++) {
            d[i] = f.applyAsDouble(g.values().get(i));
        }
        return new Ref(g.outShape(), d);
    }

    private static double sum(List<Double> v) {
        double s = 0;
        for (double x : v) {
            s += x;
        }
        return s;
    }

    private static double absSum(List<Double> v) {
        double s = 0;
        for (double x : v) {
            s += Math.abs(x);
        }
        return s;
    }

    /** A random subset of 0..rank-1 (as given to the op: some dims written negative, random order). */
    private static int[] randomDims(int rank, Random rnd, boolean[] reduce) {
        List<Integer> dims = new ArrayList<>();
        for (int d = 0; d < rank; d++) {
            if (rnd.nextBoolean()) {
                reduce[d] = true;
                dims.add(rnd.nextBoolean() ? d - rank : d);
            }
        }
        java.util.Collections.shuffle(dims, rnd);
        return dims.stream().mapToInt(Integer::intValue).toArray();
    }

    @Property(tries = 60)
    void sumAndMeanOverRandomDims(@ForAll("shapes") int[] shape, @ForAll("chains") List<Integer> chain,
                                  @ForAll long seed, @ForAll boolean keepDim) {
        ViewChains.Pair p = ViewChains.applyChain(ViewChains.randomBase(shape, seed), chain);
        Random rnd = new Random(seed);
        boolean[] reduce = new boolean[p.r().rank()];
        int[] dims = randomDims(p.r().rank(), rnd, reduce);
        Groups g = group(p.r(), reduce, keepDim);
        Ref absSums = reduceRef(g, ReducePropertiesTest::absSum);
        Ref counts = reduceRef(g, List::size);
        Ref.Tolerance tol = (e, idx) -> Math.ulp((float) e) + counts.get(idx) * 0x1p-52 * absSums.get(idx);
        Ref.assertClose(reduceRef(g, ReducePropertiesTest::sum), p.t().sum(dims, keepDim), tol);
        Ref.Tolerance meanTol = (e, idx) -> Math.ulp((float) e) + 0x1p-52 * absSums.get(idx);
        Ref.assertClose(reduceRef(g, v -> sum(v) / v.size()), p.t().mean(dims, keepDim), meanTol);
        // all dims
        boolean[] all = new boolean[p.r().rank()];
        java.util.Arrays.fill(all, true);
        Groups ga = group(p.r(), all, false);
        double allAbs = absSum(ga.values().get(0));
        int n = ga.values().get(0).size();
        Ref.assertClose(reduceRef(ga, ReducePropertiesTest::sum), p.t().sum(),
                (e, idx) -> Math.ulp((float) e) + n * 0x1p-52 * allAbs);
        Ref.assertClose(reduceRef(ga, v -> sum(v) / v.size()), p.t().mean(),
                (e, idx) -> Math.ulp((float) e) + 0x1p-52 * allAbs);
        // single dim through the int overloads
        if (p.r().rank() > 0) {
            int d = rnd.nextInt(p.r().rank());
            boolean[] one = new boolean[p.r().rank()];
            one[d] = true;
            Groups g1 = group(p.r(), one, keepDim);
            Ref abs1 = reduceRef(g1, ReducePropertiesTest::absSum);
            Ref.Tolerance tol1 = (e, idx) -> Math.ulp((float) e) + 8 * 0x1p-52 * abs1.get(idx);
            Ref.assertClose(reduceRef(g1, ReducePropertiesTest::sum), p.t().sum(d, keepDim), tol1);
            Ref.assertClose(reduceRef(g1, v -> sum(v) / v.size()), p.t().mean(d, keepDim), tol1);
        }
    }

    @Property(tries = 60)
    void integerSumsAreExactInt64(@ForAll("shapes") int[] shape, @ForAll long seed, @ForAll boolean keepDim) {
        Random rnd = new Random(seed);
        ViewChains.Pair p = ViewChains.strided(shape, rnd, true);
        Tensor ints = p.t().mul(2f).to(DType.INT32);
        Ref r = p.r().map(v -> 2 * v);
        boolean[] reduce = new boolean[r.rank()];
        int[] dims = randomDims(r.rank(), rnd, reduce);
        Tensor s = ints.sum(dims, keepDim);
        assertEquals(DType.INT64, s.dtype());
        Ref.assertExact(reduceRef(group(r, reduce, keepDim), ReducePropertiesTest::sum), s);
        Tensor b = p.t().gt(0f).sum(dims, keepDim); // counting trues
        assertEquals(DType.INT64, b.dtype());
        Ref.assertExact(reduceRef(group(r.map(v -> v > 0 ? 1 : 0), reduce, keepDim), ReducePropertiesTest::sum), b);
    }

    @Property(tries = 60)
    void maxMinArgmax(@ForAll("shapes") int[] shape, @ForAll("chains") List<Integer> chain, @ForAll long seed,
                      @ForAll boolean keepDim, @ForAll boolean coarse) {
        Random rnd = new Random(seed);
        // coarse values (multiples of 0.5) make ties common, which pins down argmax's "first maximum" rule
        ViewChains.Pair base = coarse ? ViewChains.strided(shape, rnd, true) : ViewChains.randomBase(shape, seed);
        ViewChains.Pair p = ViewChains.applyChain(base, chain);
        int rank = p.r().rank();
        boolean[] reduce = new boolean[rank];
        int[] dims = randomDims(rank, rnd, reduce);
        Groups g = group(p.r(), reduce, keepDim);
        Ref.assertExact(reduceRef(g, v -> v.stream().mapToDouble(Double::doubleValue).max().orElseThrow()),
                Dispatch.apply(ReduceOps.MAX, p.t(), dims, keepDim));
        Ref.assertExact(reduceRef(g, v -> v.stream().mapToDouble(Double::doubleValue).min().orElseThrow()),
                Dispatch.apply(ReduceOps.MIN, p.t(), dims, keepDim));
        Ref.assertExact(new Ref(new int[0], new double[] {max(p.r().data)}), p.t().max());
        if (rank == 0) {
            Ref.assertExact(new Ref(new int[0], new double[] {0}), p.t().argmax(0, keepDim));
            return;
        }
        int d = rnd.nextInt(rank);
        boolean[] one = new boolean[rank];
        one[d] = true;
        Groups g1 = group(p.r(), one, keepDim);
        Ref.assertExact(reduceRef(g1, v -> v.stream().mapToDouble(Double::doubleValue).max().orElseThrow()),
                p.t().max(d, keepDim));
        Ref.assertExact(reduceRef(g1, v -> v.stream().mapToDouble(Double::doubleValue).min().orElseThrow()),
                p.t().min(d - rank, keepDim));
        // argmax: the group lists are in increasing index along d, so the first maximum is the answer
        Tensor am = p.t().argmax(d, keepDim);
        assertEquals(DType.INT64, am.dtype());
        Ref.assertExact(reduceRef(g1, v -> {
            int best = 0;
            for (int i = 1; i < v.size(); i++) {
                if (v.get(i) > v.get(best)) {
                    best = i;
                }
            }
            return best;
        }), am);
        // and max/min keep integer dtypes
        Tensor ints = p.t().mul(2f).to(DType.INT32);
        Tensor mi = ints.max(d, keepDim);
        assertEquals(DType.INT32, mi.dtype());
        Ref.assertExact(reduceRef(group(p.r().map(v -> (int) (2 * v)), one, keepDim),
                v -> v.stream().mapToDouble(Double::doubleValue).max().orElseThrow()), mi);
    }

    private static double max(double[] v) {
        double m = Double.NEGATIVE_INFINITY;
        for (double x : v) {
            m = Math.max(m, x);
        }
        return m;
    }

    // ---------------------------------------------------------------- edge cases

    @Test
    void nanWins() {
        Tensor t = Tensor.of(new float[] {1, Float.NaN, 3, 5, 2, 4}, 2, 3);
        assertTrue(Float.isNaN(t.max().item()));
        assertTrue(Float.isNaN(t.max(1, false).getFloat(0)));
        assertEquals(5f, t.max(1, false).getFloat(1));
        assertTrue(Float.isNaN(t.min(1, false).getFloat(0)));
        assertEquals(1L, t.argmax(1, false).getLong(0));
        assertEquals(1L, Tensor.of(new float[] {7, Float.NaN, Float.NaN, 9}, 4).argmax(0, false).itemLong());
        assertTrue(Float.isNaN(t.sum().item()));
    }

    @Test
    void emptyReductions() {
        Tensor e = Tensor.zeros(2, 0);
        assertEquals(0f, e.sum().item());
        assertEquals(2, e.sum(1, false).numel());
        assertEquals(0f, e.sum(1, true).getFloat(1, 0));
        assertEquals(0, e.sum(0, false).numel());
        assertEquals(0, e.max(0, false).numel()); // nothing to reduce into: fine
        assertThrows(ShapeException.class, () -> e.max(1, false));
        assertThrows(ShapeException.class, () -> e.mean(1, false));
        assertThrows(ShapeException.class, () -> e.argmax(1, false));
    }

    @Test
    void zeroDimensional() {
        Tensor s = Tensor.scalar(-2.5f);
        assertEquals(-2.5f, s.sum().item());
        assertEquals(-2.5f, s.sum(0, true).item());
        assertEquals(-2.5f, s.mean(-1, false).item());
        assertEquals(-2.5f, s.max(0, false).item());
        assertEquals(0, s.max(0, true).dim());
        assertEquals(0L, s.argmax(0, false).itemLong());
        assertThrows(ShapeException.class, () -> s.sum(1, false));
    }

    @Test
    void argumentErrors() {
        Tensor t = Tensor.zeros(2, 3);
        assertThrows(ShapeException.class, () -> t.sum(new int[] {0, -2}, false));
        assertThrows(ShapeException.class, () -> t.sum(2, false));
        assertThrows(ShapeException.class, () -> t.argmax(-3, false));
        assertThrows(DTypeException.class, () -> Tensor.arange(3).mean());
        assertThrows(DTypeException.class, () -> t.quantize(1f, 0, DType.INT8).sum());
    }

    @Test
    void largeSumsAccumulateInDouble() {
        // 2^24 + 1 + 1 + ...: float32 accumulation would lose every 1; double keeps them.
        float[] v = new float[1001];
        v[0] = 1 << 24;
        java.util.Arrays.fill(v, 1, v.length, 1f);
        assertEquals((float) ((1 << 24) + 1000), Tensor.of(v, v.length).sum().item());
    }
}
