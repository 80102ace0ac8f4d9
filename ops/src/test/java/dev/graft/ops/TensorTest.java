package dev.graft.ops;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Creation, metadata, element access and printing of {@link Tensor}. */
class TensorTest {

    @Nested
    class Creation {
        @Test
        void ofCopiesDataAndIsContiguousFloat32() {
            float[] data = {1, 2, 3, 4, 5, 6};
            Tensor t = Tensor.of(data, 2, 3);
            data[0] = 99;
            assertEquals(DType.FLOAT32, t.dtype());
            assertArrayEquals(new int[] {2, 3}, t.shape());
            assertArrayEquals(new int[] {3, 1}, t.strides());
            assertEquals(0, t.storageOffset());
            assertTrue(t.isContiguous());
            assertFalse(t.isQuantized());
            assertFalse(t.isSymbolic());
            assertNull(t.qparams());
            assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, t.toFloatArray());
            assertEquals(6f, t.getFloat(1, 2));
        }

        @Test
        void creationDoesNotAliasTheCallersShapeArray() {
            int[] shape = {2, 3};
            Tensor f = Tensor.of(new float[6], shape);
            Tensor w = Tensor.wrap(new float[6], shape);
            Tensor i = Tensor.ofInts(new int[6], shape);
            Tensor l = Tensor.ofLongs(new long[6], shape);
            Tensor b = Tensor.ofBools(new boolean[6], shape);
            Tensor y = Tensor.ofBytes(DType.INT8, new byte[6], shape);
            Tensor z = Tensor.zeros(shape);
            shape[0] = 3;
            shape[1] = 2;
            for (Tensor t : new Tensor[] {f, w, i, l, b, y, z}) {
                assertArrayEquals(new int[] {2, 3}, t.shape(), t.dtype().toString());
                assertArrayEquals(new int[] {3, 1}, t.strides(), t.dtype().toString());
            }
        }

        @Test
        void wrapTakesOwnershipWithoutCopying() {
            float[] data = {1, 2, 3};
            Tensor t = Tensor.wrap(data, 3);
            data[1] = 7; // documented: the caller must not reuse the array; this shows why
            assertEquals(7f, t.getFloat(1));
        }

        @Test
        void integerBoolAndByteTensors() {
            int[] ints = {1, -2, 3};
            Tensor i = Tensor.ofInts(ints, 3);
            ints[0] = 100;
            assertEquals(DType.INT32, i.dtype());
            assertArrayEquals(new long[] {1, -2, 3}, i.toLongArray());
            assertArrayEquals(new int[] {1, -2, 3}, i.toIntArray());

            Tensor l = Tensor.ofLongs(new long[] {1L << 40, -5}, 2);
            assertEquals(DType.INT64, l.dtype());
            assertEquals(1L << 40, l.getLong(0));
            assertEquals(-5f, l.getFloat(1));

            Tensor b = Tensor.ofBools(new boolean[] {true, false, true}, 3);
            assertEquals(DType.BOOL, b.dtype());
            assertArrayEquals(new long[] {1, 0, 1}, b.toLongArray());
            assertArrayEquals(new byte[] {1, 0, 1}, b.toByteArray());

            byte[] raw = {(byte) 200, 5, -1};
            Tensor u = Tensor.ofBytes(DType.UINT8, raw, 3);
            Tensor s = Tensor.ofBytes(DType.INT8, raw, 3);
            raw[1] = 0;
            assertArrayEquals(new long[] {200, 5, 255}, u.toLongArray());
            assertArrayEquals(new float[] {200, 5, 255}, u.toFloatArray());
            assertArrayEquals(new long[] {-56, 5, -1}, s.toLongArray());
            assertArrayEquals(new byte[] {(byte) 200, 5, -1}, u.toByteArray());
        }

        @Test
        void ofBytesRefusesMultiByteDtypes() {
            assertThrows(DTypeException.class, () -> Tensor.ofBytes(DType.FLOAT32, new byte[4], 4));
            assertThrows(DTypeException.class, () -> Tensor.ofBytes(DType.INT32, new byte[4], 4));
        }

        @Test
        void zerosOnesFull() {
            assertArrayEquals(new float[6], Tensor.zeros(2, 3).toFloatArray());
            Tensor zi = Tensor.zeros(DType.INT64, 4);
            assertEquals(DType.INT64, zi.dtype());
            assertArrayEquals(new long[4], zi.toLongArray());
            assertArrayEquals(new float[] {1, 1, 1, 1}, Tensor.ones(2, 2).toFloatArray());
            assertArrayEquals(new float[] {-2.5f, -2.5f}, Tensor.full(-2.5f, 2).toFloatArray());
            Tensor empty = Tensor.zeros(0, 3);
            assertEquals(0, empty.numel());
            assertEquals(0, empty.toFloatArray().length);
        }

        @Test
        void scalarIsZeroDimensional() {
            Tensor s = Tensor.scalar(3.5f);
            assertEquals(0, s.dim());
            assertArrayEquals(new int[0], s.shape());
            assertArrayEquals(new int[0], s.strides());
            assertEquals(1, s.numel());
            assertEquals(3.5f, s.item());
            assertEquals(3.5f, s.getFloat());
        }

        @Test
        void arangeIsInt64() {
            Tensor a = Tensor.arange(5);
            assertEquals(DType.INT64, a.dtype());
            assertArrayEquals(new long[] {0, 1, 2, 3, 4}, a.toLongArray());
            assertEquals(0, Tensor.arange(0).numel());
            assertThrows(ShapeException.class, () -> Tensor.arange(-1));
        }

        @Test
        void randAndRandnAreReproducibleBySeed() {
            Tensor a = Tensor.rand(new Random(42), -1f, 3f, 4, 5);
            Tensor b = Tensor.rand(new Random(42), -1f, 3f, 4, 5);
            Tensor c = Tensor.rand(new Random(43), -1f, 3f, 4, 5);
            assertArrayEquals(a.toFloatArray(), b.toFloatArray());
            assertFalse(java.util.Arrays.equals(a.toFloatArray(), c.toFloatArray()));
            for (float v : a.toFloatArray()) {
                assertTrue(v >= -1f && v < 3f, "rand value " + v + " outside [-1, 3)");
            }
            Tensor n1 = Tensor.randn(new Random(7), 100);
            Tensor n2 = Tensor.randn(new Random(7), 100);
            assertArrayEquals(n1.toFloatArray(), n2.toFloatArray());
            double mean = 0;
            for (float v : n1.toFloatArray()) {
                mean += v / 100.0;
            }
            // 100 standard normal samples: the mean has standard deviation 0.1, so |mean| < 0.5 is a 5-sigma bound.
            assertTrue(Math.abs(mean) < 0.5, "mean " + mean);
        }

        @Test
        void quantizedTensors() {
            Tensor q = Tensor.quantized(DType.UINT8, new byte[] {0, 3, (byte) 255}, new int[] {3},
                    new QParams.PerTensor(0.5f, 3));
            assertTrue(q.isQuantized());
            assertEquals(new QParams.PerTensor(0.5f, 3), q.qparams());
            assertArrayEquals(new float[] {-1.5f, 0f, 126f}, q.dequantize().toFloatArray());
            assertThrows(DTypeException.class, () -> Tensor.quantized(DType.INT32, new byte[3], new int[] {3},
                    new QParams.PerTensor(1f, 0)));
            QParams.PerChannel pc = new QParams.PerChannel(new float[] {1f, 2f}, new int[] {0, 0}, 1);
            assertThrows(ShapeException.class, () -> Tensor.quantized(DType.INT8, new byte[6], new int[] {2, 3}, pc));
            assertThrows(ShapeException.class, () -> Tensor.quantized(DType.INT8, new byte[2], new int[] {2}, pc));
            Tensor ok = Tensor.quantized(DType.INT8, new byte[6], new int[] {3, 2}, pc);
            assertEquals(pc, ok.qparams());
        }

        @Test
        void lengthAndShapeMismatches() {
            assertThrows(ShapeException.class, () -> Tensor.of(new float[5], 2, 3));
            assertThrows(ShapeException.class, () -> Tensor.of(new float[1], 2, 3));
            assertThrows(ShapeException.class, () -> Tensor.of(new float[2]));
            assertThrows(ShapeException.class, () -> Tensor.wrap(new float[5], 6));
            assertThrows(ShapeException.class, () -> Tensor.ofInts(new int[5], 2, 2));
            assertThrows(ShapeException.class, () -> Tensor.ofLongs(new long[1], 2));
            assertThrows(ShapeException.class, () -> Tensor.ofBools(new boolean[3], 2));
            assertThrows(ShapeException.class, () -> Tensor.ofBytes(DType.INT8, new byte[3], 4));
            assertThrows(ShapeException.class, () -> Tensor.of(new float[0], -1, 0));
            assertThrows(ShapeException.class, () -> Tensor.zeros(2, -3));
            assertThrows(ShapeException.class, () -> Tensor.zeros(1 << 16, 1 << 16));
            ShapeException e = assertThrows(ShapeException.class, () -> Tensor.of(new float[5], 2, 3));
            assertTrue(e.getMessage().contains("[2, 3]") && e.getMessage().contains("5"), e.getMessage());
        }

        @Test
        void qparamsValidation() {
            assertThrows(IllegalArgumentException.class, () -> new QParams.PerTensor(0f, 0));
            assertThrows(IllegalArgumentException.class, () -> new QParams.PerTensor(-1f, 0));
            assertThrows(IllegalArgumentException.class, () -> new QParams.PerTensor(Float.NaN, 0));
            assertThrows(IllegalArgumentException.class, () -> new QParams.PerTensor(Float.POSITIVE_INFINITY, 0));
            assertThrows(IllegalArgumentException.class,
                    () -> new QParams.PerChannel(new float[] {1f}, new int[] {0, 0}, 0));
            assertThrows(IllegalArgumentException.class,
                    () -> new QParams.PerChannel(new float[] {1f, 0f}, new int[] {0, 0}, 0));
            assertThrows(IllegalArgumentException.class,
                    () -> new QParams.PerChannel(new float[] {1f}, new int[] {0}, -1));
            float[] scales = {1f, 2f};
            QParams.PerChannel pc = new QParams.PerChannel(scales, new int[] {0, 1}, 0);
            scales[0] = 5f;
            pc.scales()[1] = 7f;
            assertArrayEquals(new float[] {1f, 2f}, pc.scales());
            assertEquals(pc, new QParams.PerChannel(new float[] {1f, 2f}, new int[] {0, 1}, 0));
            assertEquals(pc.hashCode(), new QParams.PerChannel(new float[] {1f, 2f}, new int[] {0, 1}, 0).hashCode());
            assertNotEquals(pc, new QParams.PerChannel(new float[] {1f, 2f}, new int[] {0, 1}, 1));
        }
    }

    @Nested
    class Metadata {
        @Test
        void sizesAndStrides() {
            Tensor t = Tensor.zeros(2, 3, 4);
            assertEquals(3, t.dim());
            assertEquals(2, t.size(0));
            assertEquals(4, t.size(-1));
            assertEquals(3, t.size(-2));
            assertEquals(24, t.numel());
            assertArrayEquals(new int[] {12, 4, 1}, t.strides());
            assertThrows(ShapeException.class, () -> t.size(3));
            assertThrows(ShapeException.class, () -> t.size(-4));
            assertThrows(ShapeException.class, () -> Tensor.scalar(1f).size(0));
        }

        @Test
        void metadataArraysAreCopies() {
            Tensor t = Tensor.zeros(2, 3);
            t.shape()[0] = 5;
            t.strides()[0] = 5;
            assertArrayEquals(new int[] {2, 3}, t.shape());
            assertArrayEquals(new int[] {3, 1}, t.strides());
        }

        @Test
        void requiresGradOnlyForFloat() {
            Tensor t = Tensor.zeros(2);
            assertFalse(t.requiresGrad());
            assertSame(t, t.setRequiresGrad(true));
            assertTrue(t.requiresGrad());
            assertThrows(DTypeException.class, () -> Tensor.arange(3).setRequiresGrad(true));
            Tensor.arange(3).setRequiresGrad(false);
        }
    }

    @Nested
    class ElementAccess {
        @Test
        void itemOnOneElementTensorsOfAnyRank() {
            assertEquals(2f, Tensor.scalar(2f).item());
            assertEquals(2f, Tensor.of(new float[] {2f}, 1).item());
            assertEquals(2f, Tensor.of(new float[] {2f}, 1, 1, 1).item());
            assertEquals(7L, Tensor.ofLongs(new long[] {7}, 1).itemLong());
            assertEquals(-3L, Tensor.of(new float[] {-3.7f}).itemLong()); // truncation toward zero
            assertEquals(5f, Tensor.of(new float[] {1, 5, 3}, 3).slice(0, 1, 2, 1).item());
        }

        @Test
        void itemRefusesOtherElementCounts() {
            ShapeException e = assertThrows(ShapeException.class, () -> Tensor.zeros(2).item());
            assertTrue(e.getMessage().contains("[2]"), e.getMessage());
            assertThrows(ShapeException.class, () -> Tensor.zeros(0).item());
            assertThrows(ShapeException.class, () -> Tensor.zeros(1, 2).itemLong());
            assertThrows(ShapeException.class, () -> Tensor.zeros(3).isTrue());
        }

        @Test
        void isTrue() {
            assertTrue(Tensor.ofBools(new boolean[] {true}).isTrue());
            assertFalse(Tensor.ofBools(new boolean[] {false}, 1).isTrue());
            assertTrue(Tensor.scalar(0.5f).isTrue());
            assertFalse(Tensor.scalar(0f).isTrue());
            assertFalse(Tensor.scalar(-0f).isTrue());
            assertTrue(Tensor.scalar(Float.NaN).isTrue()); // as Python's bool(float('nan'))
            assertTrue(Tensor.ofLongs(new long[] {-1}).isTrue());
            assertTrue(Tensor.scalar(1f).gt(0.5f).isTrue());
        }

        @Test
        void getFloatAndGetLongCheckIndices() {
            Tensor t = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
            assertEquals(4f, t.getFloat(1, 0));
            assertEquals(6L, t.getLong(1, 2));
            assertThrows(ShapeException.class, () -> t.getFloat(1));
            assertThrows(ShapeException.class, () -> t.getFloat(0, 0, 0));
            assertThrows(ShapeException.class, () -> t.getFloat(2, 0));
            assertThrows(ShapeException.class, () -> t.getFloat(0, 3));
            assertThrows(ShapeException.class, () -> t.getFloat(-1, 0));
            assertThrows(ShapeException.class, () -> t.getLong(0, -1));
            // Through a view: index bounds are the view's, not the storage's.
            Tensor v = t.slice(1, 1, 3, 1);
            assertEquals(6f, v.getFloat(1, 1));
            assertThrows(ShapeException.class, () -> v.getFloat(0, 2));
        }

        @Test
        void arraysOfViewsAreRowMajorCopies() {
            Tensor t = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3).t();
            float[] a = t.toFloatArray();
            assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, a);
            a[0] = 100;
            assertEquals(1f, t.getFloat(0, 0));
            assertArrayEquals(new long[] {1, 4, 2, 5, 3, 6}, t.toLongArray());
            assertThrows(DTypeException.class, t::toByteArray);
        }

        @Test
        void emptySliceAtTheEndOfAnEmptyStorage() {
            Tensor e = Tensor.zeros(0, 4).slice(1, 4, 4, 1);
            assertArrayEquals(new int[] {0, 0}, e.shape());
            assertEquals(0, e.toFloatArray().length);
            assertEquals(0, e.toLongArray().length);
        }
    }

    @Nested
    class Printing {
        @Test
        void small() {
            assertEquals("tensor([[1.0, 2.0], [3.0, 4.5]], shape=[2, 2], dtype=float32)",
                    Tensor.of(new float[] {1, 2, 3, 4.5f}, 2, 2).toString());
            assertEquals("tensor([0, 1, 2], shape=[3], dtype=int64)", Tensor.arange(3).toString());
            assertEquals("tensor([[1.0, 3.0], [2.0, 4.0]], shape=[2, 2], dtype=float32)",
                    Tensor.of(new float[] {1, 2, 3, 4}, 2, 2).t().toString());
        }

        @Test
        void zeroDimensionalAndEmpty() {
            assertEquals("tensor(3.5, shape=[], dtype=float32)", Tensor.scalar(3.5f).toString());
            assertEquals("tensor([], shape=[0], dtype=float32)", Tensor.zeros(0).toString());
            assertEquals("tensor([[], []], shape=[2, 0], dtype=float32)", Tensor.zeros(2, 0).toString());
        }

        @Test
        void bool() {
            assertEquals("tensor([true, false], shape=[2], dtype=bool)",
                    Tensor.ofBools(new boolean[] {true, false}, 2).toString());
        }

        @Test
        void quantized() {
            Tensor q = Tensor.of(new float[] {-1f, 0f, 1f}, 3).quantize(0.5f, 3, DType.UINT8);
            assertEquals("tensor([1, 3, 5], shape=[3], dtype=uint8, scale=0.5, zero_point=3)", q.toString());
            Tensor pc = Tensor.of(new float[] {1f, 2f, 3f, 4f}, 2, 2)
                    .quantizePerChannel(new float[] {1f, 2f}, new int[] {0, 0}, 0, DType.INT8);
            assertEquals("tensor([[1, 2], [2, 2]], shape=[2, 2], dtype=int8, per_channel_axis=0)", pc.toString());
        }

        @Test
        void bigTensorsAreAbbreviated() {
            Tensor big = Tensor.arange(2000).reshape(40, 50);
            String s = big.toString();
            assertTrue(s.startsWith("tensor([[0, 1, 2, ..., 47, 48, 49], [50, 51, 52, ..., 97, 98, 99], [100, "), s);
            assertTrue(s.contains("..., [1850, 1851, 1852, ..., 1897, 1898, 1899], "), s);
            assertTrue(s.endsWith("[1950, 1951, 1952, ..., 1997, 1998, 1999]], shape=[40, 50], dtype=int64)"), s);
            assertTrue(s.length() < 600, "length " + s.length());
            // Exactly at the limit (1000 elements) everything is printed.
            assertFalse(Tensor.arange(1000).toString().contains("..."));
            assertTrue(Tensor.arange(1001).toString().contains("..."));
        }
    }
}
