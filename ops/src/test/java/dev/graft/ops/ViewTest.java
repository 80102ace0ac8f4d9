package dev.graft.ops;

import org.junit.jupiter.api.Test;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Movement ops that make views: geometry, sharing, values and errors. */
class ViewTest {

    /** 0, 1, ..., n-1 as float32 in the given shape. */
    private static Tensor iota(int... shape) {
        int n = Ref.numel(shape);
        float[] d = new float[n];
        for (int i = 0; i < n; i++) {
            d[i] = i;
        }
        return Tensor.of(d, shape);
    }

    private static float[] floats(double... v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            f[i] = (float) v[i];
        }
        return f;
    }

    // ---------------------------------------------------------------- reshape and view

    @Test
    void reshapeOfContiguousIsAView() {
        Tensor x = iota(2, 3, 4);
        Tensor r = x.reshape(4, 6);
        assertTrue(r.sharesStorageWith(x));
        assertArrayEquals(new int[] {4, 6}, r.shape());
        assertArrayEquals(new int[] {6, 1}, r.strides());
        assertArrayEquals(x.toFloatArray(), r.toFloatArray());
        assertTrue(x.view(24).sharesStorageWith(x));
    }

    @Test
    void reshapeOfTransposedCopiesWhenItMust() {
        Tensor x = iota(2, 3);
        Tensor t = x.t();
        Tensor r = t.reshape(6);
        assertFalse(r.sharesStorageWith(x));
        assertArrayEquals(floats(0, 3, 1, 4, 2, 5), r.toFloatArray());
        assertTrue(r.isContiguous());
        ShapeException e = assertThrows(ShapeException.class, () -> t.view(6));
        assertTrue(e.getMessage().contains("contiguous"), e.getMessage());
    }

    @Test
    void reshapeOfNonContiguousIsAViewWhenTheStridesAllow() {
        Tensor x = iota(2, 3, 4);
        Tensor p = x.permute(1, 0, 2); // [3, 2, 4] strides [4, 12, 1]: the last dim is still contiguous
        Tensor split = p.reshape(3, 2, 2, 2);
        assertTrue(split.sharesStorageWith(x));
        assertArrayEquals(new int[] {4, 12, 2, 1}, split.strides());
        assertArrayEquals(p.toFloatArray(), split.toFloatArray());
        Tensor merged = p.reshape(6, 4); // dims 0 and 1 are not adjacent in memory: a copy
        assertFalse(merged.sharesStorageWith(x));
        assertArrayEquals(p.toFloatArray(), merged.toFloatArray());
        // A slice with step keeps its trailing dims viewable.
        Tensor s = iota(6, 4).slice(0, 0, 6, 2); // [3, 4] strides [8, 1]
        Tensor sv = s.view(3, 2, 2);
        assertTrue(sv.sharesStorageWith(s));
        assertArrayEquals(s.toFloatArray(), sv.toFloatArray());
        assertThrows(ShapeException.class, () -> s.view(12));
        // Size-1 dims with arbitrary strides do not prevent a view.
        Tensor u = iota(4, 1, 3).permute(1, 0, 2);
        assertTrue(u.view(12).sharesStorageWith(u));
    }

    @Test
    void reshapeOfExpandedCopies() {
        Tensor e = iota(1, 3).expand(2, 3);
        Tensor r = e.reshape(6);
        assertFalse(r.sharesStorageWith(e));
        assertArrayEquals(floats(0, 1, 2, 0, 1, 2), r.toFloatArray());
        assertThrows(ShapeException.class, () -> e.view(6));
        assertTrue(e.view(2, 1, 3).sharesStorageWith(e)); // splitting off a 1 is fine even with stride 0
    }

    @Test
    void reshapeInfersMinusOne() {
        Tensor x = iota(2, 3, 4);
        assertArrayEquals(new int[] {24}, x.reshape(-1).shape());
        assertArrayEquals(new int[] {2, 12}, x.reshape(2, -1).shape());
        assertArrayEquals(new int[] {4, 3, 2}, x.reshape(-1, 3, 2).shape());
        assertArrayEquals(new int[] {0, 5}, Tensor.zeros(0, 3).reshape(-1, 5).shape());
        assertArrayEquals(new int[] {1, 1}, Tensor.scalar(1f).reshape(-1, 1).shape());
        assertArrayEquals(new int[0], Tensor.of(floats(4), 1, 1).reshape().shape());
    }

    @Test
    void reshapeErrors() {
        Tensor x = iota(2, 3, 4);
        assertThrows(ShapeException.class, () -> x.reshape(-1, -1));
        assertThrows(ShapeException.class, () -> x.reshape(5, -1));
        assertThrows(ShapeException.class, () -> x.reshape(0, -1));
        assertThrows(ShapeException.class, () -> x.reshape(5, 5));
        assertThrows(ShapeException.class, () -> x.reshape(-2, -12));
        assertThrows(ShapeException.class, () -> x.view(25));
        assertThrows(ShapeException.class, () -> Tensor.zeros(0, 3).reshape(0, -1));
    }

    @Test
    void reshapeDoesNotAliasTheCallersArray() {
        int[] target = {4, 6};
        Tensor r = iota(2, 3, 4).reshape(target);
        target[0] = 6;
        target[1] = 4;
        assertArrayEquals(new int[] {4, 6}, r.shape());
    }

    // ---------------------------------------------------------------- permute, transpose, t

    @Test
    void permuteReordersShapeAndStrides() {
        Tensor x = iota(2, 3, 4);
        Tensor p = x.permute(2, 0, 1);
        assertTrue(p.sharesStorageWith(x));
        assertArrayEquals(new int[] {4, 2, 3}, p.shape());
        assertArrayEquals(new int[] {1, 12, 4}, p.strides());
        assertFalse(p.isContiguous());
        assertEquals(x.getFloat(1, 2, 3), p.getFloat(3, 1, 2));
        assertArrayEquals(p.shape(), x.permute(-1, 0, -2).shape());
        assertThrows(ShapeException.class, () -> x.permute(0, 1));
        assertThrows(ShapeException.class, () -> x.permute(0, 1, 1));
        assertThrows(ShapeException.class, () -> x.permute(0, 1, 3));
        assertArrayEquals(new int[0], Tensor.scalar(1f).permute().shape());
    }

    @Test
    void transposeAndT() {
        Tensor x = iota(2, 3, 4);
        Tensor t = x.transpose(0, -1);
        assertArrayEquals(new int[] {4, 3, 2}, t.shape());
        assertEquals(x.getFloat(1, 2, 3), t.getFloat(3, 2, 1));
        assertSame(x.dtype(), x.transpose(1, 1).dtype());
        assertArrayEquals(x.toFloatArray(), x.transpose(1, 1).toFloatArray());
        Tensor m = iota(2, 3);
        assertArrayEquals(floats(0, 3, 1, 4, 2, 5), m.t().toFloatArray());
        assertArrayEquals(m.toFloatArray(), m.t().t().toFloatArray());
        assertThrows(ShapeException.class, x::t);
        assertThrows(ShapeException.class, () -> iota(3).t());
        assertThrows(ShapeException.class, () -> x.transpose(0, 3));
    }

    // ---------------------------------------------------------------- slice, narrow, select

    @Test
    void slicePythonSemantics() {
        Tensor x = iota(10);
        assertArrayEquals(floats(2, 3, 4), x.slice(0, 2, 5, 1).toFloatArray());
        assertArrayEquals(floats(7, 8), x.slice(0, -3, -1, 1).toFloatArray());
        assertArrayEquals(floats(1, 3, 5, 7, 9), x.slice(0, 1, 10, 2).toFloatArray());
        assertArrayEquals(floats(0, 3, 6, 9), x.slice(0, 0, 100, 3).toFloatArray());
        assertArrayEquals(floats(0, 1), x.slice(-1, -100, 2, 1).toFloatArray());
        assertArrayEquals(new int[] {0}, x.slice(0, 5, 3, 1).shape());
        assertArrayEquals(new int[] {0}, x.slice(0, 10, 20, 1).shape());
        assertThrows(ShapeException.class, () -> x.slice(0, 0, 5, 0));
        assertThrows(ShapeException.class, () -> x.slice(0, 0, 5, -1));
        assertThrows(ShapeException.class, () -> x.slice(1, 0, 5, 1));
        Tensor s = x.slice(0, 1, 10, 3);
        assertTrue(s.sharesStorageWith(x));
        assertEquals(1, s.storageOffset());
        assertArrayEquals(new int[] {3}, s.strides());
    }

    @Test
    void sliceOfMatrixAlongEachDim() {
        Tensor m = iota(4, 5);
        Tensor cols = m.slice(1, 1, -1, 2); // columns 1 and 3
        assertArrayEquals(new int[] {4, 2}, cols.shape());
        assertArrayEquals(floats(1, 3, 6, 8, 11, 13, 16, 18), cols.toFloatArray());
        Tensor rows = m.slice(0, -2, 4, 1);
        assertArrayEquals(floats(10, 11, 12, 13, 14, 15, 16, 17, 18, 19), rows.toFloatArray());
    }

    @Test
    void narrow() {
        Tensor x = iota(3, 5);
        assertArrayEquals(floats(1, 2, 6, 7, 11, 12), x.narrow(1, 1, 2).toFloatArray());
        assertArrayEquals(floats(10, 11, 12, 13, 14), x.narrow(0, 2, 1).toFloatArray());
        assertArrayEquals(floats(3, 4, 8, 9, 13, 14), x.narrow(1, -2, 2).toFloatArray()); // start counts from the end
        assertArrayEquals(new int[] {3, 0}, x.narrow(1, 5, 0).shape());
        assertThrows(ShapeException.class, () -> x.narrow(1, 4, 2));
        assertThrows(ShapeException.class, () -> x.narrow(1, 6, 0));
        assertThrows(ShapeException.class, () -> x.narrow(1, -6, 1));
        assertThrows(ShapeException.class, () -> x.narrow(1, 0, -1));
    }

    @Test
    void select() {
        Tensor x = iota(2, 3, 4);
        Tensor s = x.select(1, 2);
        assertArrayEquals(new int[] {2, 4}, s.shape());
        assertTrue(s.sharesStorageWith(x));
        assertArrayEquals(floats(8, 9, 10, 11, 20, 21, 22, 23), s.toFloatArray());
        assertArrayEquals(s.toFloatArray(), x.select(-2, -1).toFloatArray());
        assertEquals(23f, x.select(0, 1).select(0, 2).select(0, 3).item());
        assertArrayEquals(new int[0], x.select(0, 1).select(0, 2).select(0, 3).shape());
        assertThrows(ShapeException.class, () -> x.select(1, 3));
        assertThrows(ShapeException.class, () -> x.select(1, -4));
        assertThrows(ShapeException.class, () -> x.select(3, 0));
        assertThrows(ShapeException.class, () -> Tensor.scalar(1f).select(0, 0));
    }

    // ---------------------------------------------------------------- squeeze, unsqueeze, expand, flatten

    @Test
    void squeezeAndUnsqueeze() {
        Tensor x = iota(2, 3);
        assertArrayEquals(new int[] {1, 2, 3}, x.unsqueeze(0).shape());
        assertArrayEquals(new int[] {2, 1, 3}, x.unsqueeze(1).shape());
        assertArrayEquals(new int[] {2, 3, 1}, x.unsqueeze(2).shape());
        assertArrayEquals(new int[] {2, 3, 1}, x.unsqueeze(-1).shape());
        assertArrayEquals(new int[] {2, 1, 3}, x.unsqueeze(-2).shape());
        assertArrayEquals(new int[] {1}, Tensor.scalar(1f).unsqueeze(0).shape());
        assertThrows(ShapeException.class, () -> x.unsqueeze(3));
        assertThrows(ShapeException.class, () -> x.unsqueeze(-4));
        Tensor u = x.unsqueeze(1);
        assertTrue(u.sharesStorageWith(x));
        assertTrue(u.isContiguous());
        assertArrayEquals(x.toFloatArray(), u.toFloatArray());
        assertArrayEquals(new int[] {2, 3}, u.squeeze(1).shape());
        assertArrayEquals(new int[] {2, 3}, u.squeeze(-2).shape());
        assertThrows(ShapeException.class, () -> u.squeeze(0));
        assertArrayEquals(new int[0], Tensor.of(floats(5), 1).squeeze(0).shape());
        // unsqueeze of a transposed view keeps values right
        Tensor tu = x.t().unsqueeze(1);
        assertArrayEquals(new int[] {3, 1, 2}, tu.shape());
        assertArrayEquals(floats(0, 3, 1, 4, 2, 5), tu.toFloatArray());
    }

    @Test
    void expandUsesStrideZero() {
        Tensor x = iota(3, 1);
        Tensor e = x.expand(2, 3, 4);
        assertArrayEquals(new int[] {2, 3, 4}, e.shape());
        assertArrayEquals(new int[] {0, 1, 0}, e.strides());
        assertTrue(e.sharesStorageWith(x));
        assertFalse(e.isContiguous());
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < 3; j++) {
                for (int k = 0; k < 4; k++) {
                    assertEquals(j, e.getFloat(i, j, k));
                }
            }
        }
        assertArrayEquals(new int[] {3, 5}, x.expand(-1, 5).shape());
        assertArrayEquals(new int[] {3, 1}, x.expand(3, 1).shape());
        assertArrayEquals(new int[] {3, 0}, x.expand(3, 0).shape());
        assertArrayEquals(new int[] {2, 2}, Tensor.scalar(7f).expand(2, 2).shape());
        assertArrayEquals(floats(7, 7, 7, 7), Tensor.scalar(7f).expand(2, 2).toFloatArray());
        Tensor c = e.contiguous();
        assertFalse(c.sharesStorageWith(x));
        assertTrue(c.isContiguous());
        assertArrayEquals(e.toFloatArray(), c.toFloatArray());
    }

    @Test
    void expandErrors() {
        Tensor x = iota(3, 1);
        assertThrows(ShapeException.class, () -> x.expand(4, 1)); // 3 is not 1
        assertThrows(ShapeException.class, () -> x.expand(3)); // fewer dims
        assertThrows(ShapeException.class, () -> x.expand(-1, 3, 2)); // -1 for a new leading dim
        assertThrows(ShapeException.class, () -> x.expand(3, -2));
        assertThrows(ShapeException.class, () -> x.expand(-3, 3, 1));
    }

    @Test
    void flatten() {
        Tensor x = iota(2, 3, 4);
        assertArrayEquals(new int[] {24}, x.flatten(0, -1).shape());
        assertArrayEquals(new int[] {2, 12}, x.flatten(1, 2).shape());
        assertArrayEquals(new int[] {6, 4}, x.flatten(0, 1).shape());
        assertArrayEquals(new int[] {2, 3, 4}, x.flatten(1, 1).shape());
        assertArrayEquals(new int[] {1}, Tensor.scalar(3f).flatten(0, -1).shape());
        assertArrayEquals(x.permute(2, 1, 0).toFloatArray(), x.permute(2, 1, 0).flatten(0, 2).toFloatArray());
        assertThrows(ShapeException.class, () -> x.flatten(2, 1));
        assertThrows(ShapeException.class, () -> x.flatten(0, 3));
    }

    @Test
    void contiguous() {
        Tensor x = iota(2, 3);
        assertSame(x, x.contiguous());
        Tensor t = x.t();
        Tensor c = t.contiguous();
        assertTrue(c.isContiguous());
        assertFalse(c.sharesStorageWith(x));
        assertArrayEquals(new int[] {2, 1}, c.strides());
        assertArrayEquals(t.toFloatArray(), c.toFloatArray());
        Tensor s = iota(4, 3).slice(0, 1, 3, 1); // contiguous, with an offset
        assertTrue(s.isContiguous());
        assertSame(s, s.contiguous());
        assertArrayEquals(floats(3, 4, 5, 6, 7, 8), s.toFloatArray());
    }

    @Test
    void viewsOfViewsOfViews() {
        Tensor x = iota(4, 5, 6);
        Tensor v = x.permute(2, 0, 1)          // [6, 4, 5]
                .slice(0, 1, 6, 2)            // [3, 4, 5]: d0 = 1, 3, 5
                .transpose(1, 2)               // [3, 5, 4]
                .slice(2, -3, 4, 1)            // [3, 5, 3]: i = 1, 2, 3
                .select(1, 4)                  // [3, 3]:    j = 4
                .unsqueeze(0)                  // [1, 3, 3]
                .expand(2, 3, 3);              // [2, 3, 3]
        assertTrue(v.sharesStorageWith(x));
        assertArrayEquals(new int[] {2, 3, 3}, v.shape());
        for (int e = 0; e < 2; e++) {
            for (int a = 0; a < 3; a++) {
                for (int b = 0; b < 3; b++) {
                    int k = 1 + 2 * a; // original dim 2
                    int i = 1 + b;     // original dim 0
                    int j = 4;         // original dim 1
                    assertEquals(x.getFloat(i, j, k), v.getFloat(e, a, b), "at " + e + "," + a + "," + b);
                }
            }
        }
        Tensor flat = v.reshape(-1);
        assertFalse(flat.sharesStorageWith(x));
        assertArrayEquals(v.toFloatArray(), flat.toFloatArray());
        assertArrayEquals(v.toFloatArray(), v.contiguous().toFloatArray());
        assertArrayEquals(v.select(0, 1).toFloatArray(), v.select(0, 0).toFloatArray());
    }

    // ---------------------------------------------------------------- immutability

    @Test
    void opsNeverChangeTheirInputs() {
        Tensor x = iota(2, 3);
        float[] before = x.toFloatArray();
        x.add(1f);
        x.mul(x);
        x.t().contiguous();
        x.reshape(3, 2);
        x.maskedFill(x.gt(2f), -1f);
        x.clamp(1f, 2f);
        x.exp();
        x.sum(0, true);
        x.to(DType.INT32);
        x.quantize(0.1f, 0, DType.INT8);
        Tensor.where(x.gt(1f), x, x.neg());
        assertArrayEquals(before, x.toFloatArray());
        assertArrayEquals(new int[] {2, 3}, x.shape());
        assertArrayEquals(new int[] {3, 1}, x.strides());
    }

    @Test
    void copiesHandedOutCannotWriteBack() {
        Tensor x = iota(2, 2);
        x.toFloatArray()[0] = 9;
        x.shape()[0] = 9;
        x.strides()[0] = 9;
        Tensor b = Tensor.ofBytes(DType.INT8, new byte[] {1, 2}, 2);
        b.toByteArray()[0] = 9;
        Tensor l = Tensor.arange(2);
        l.toLongArray()[0] = 9;
        l.toIntArray()[0] = 9;
        assertEquals(0f, x.getFloat(0, 0));
        assertArrayEquals(new int[] {2, 2}, x.shape());
        assertEquals(1L, b.getLong(0));
        assertEquals(0L, l.getLong(0));
        QParams.PerChannel pc = new QParams.PerChannel(new float[] {1f}, new int[] {0}, 0);
        pc.scales()[0] = 5f;
        pc.zeroPoints()[0] = 5;
        assertEquals(1f, pc.scale(0));
        assertEquals(0, pc.zeroPoint(0));
    }

    @Test
    void tensorHasNoPublicWayToWriteData() {
        for (Field f : Tensor.class.getDeclaredFields()) {
            assertFalse(Modifier.isPublic(f.getModifiers()), "public field " + f);
            if (!f.getName().equals("requiresGrad") && !f.getName().equals("grad") && !f.getName().equals("gradFn")) {
                assertTrue(Modifier.isFinal(f.getModifiers()), "mutable field " + f);
            }
        }
        // The only public mutators concern autograd bookkeeping, never the data.
        String[] mutators = Arrays.stream(Tensor.class.getMethods())
                .filter(m -> m.getDeclaringClass() == Tensor.class)
                .map(Method::getName)
                .filter(n -> n.startsWith("set") || n.startsWith("put") || n.endsWith("_") || n.startsWith("fill"))
                .distinct().sorted().toArray(String[]::new);
        assertArrayEquals(new String[] {"setGrad", "setGradFn", "setRequiresGrad"}, mutators);
        // Storage is package-private, so views cannot be written through either.
        assertFalse(Modifier.isPublic(Storage.class.getModifiers()));
    }
}
