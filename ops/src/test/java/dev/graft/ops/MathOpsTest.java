package dev.graft.ops;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Elementwise operators: special values, dtype rules and known values that the properties do not pin down. */
class MathOpsTest {

    private static final float NAN = Float.NaN;
    private static final float INF = Float.POSITIVE_INFINITY;

    @Test
    void knownActivationValues() {
        Tensor x = Tensor.of(new float[] {1, -1, 3, -3, 0.5f}, 5);
        // exact values in double (rounded to float), from 0.5 x (1 + erf(x / sqrt 2)) and the tanh form
        assertArrayEquals(new float[] {(float) 0.8413447460685429, (float) -0.15865525393145707,
            (float) 2.99595030590511, (float) -0.00404969409489031, (float) 0.34573123063700656},
                // GELU runs the float kernel FastFloatMath.gelu, a few ulps from the rounded exact value (its
                // dense-scan bound is 5.6 ulp); 1e-6 is 4 ulps at 3, the largest value here.
                Dispatch.apply(MathOps.GELU, x).toFloatArray(), 1e-6f);
        assertArrayEquals(new float[] {(float) 0.8411919906082768, (float) -0.15880800939172324,
            (float) 2.996362607918227, (float) -0.0036373920817729943, (float) 0.34571400982514394},
                Dispatch.apply(MathOps.GELU_TANH, x).toFloatArray());
        assertArrayEquals(new float[] {0.5f, (float) (1 / (1 + Math.exp(1))), 1f, 0f},
                Dispatch.apply(MathOps.SIGMOID, Tensor.of(new float[] {0, -1, 100, -200}, 4)).toFloatArray());
        assertArrayEquals(new float[] {0f, -0f, INF, NAN},
                Dispatch.apply(MathOps.SILU, Tensor.of(new float[] {0, -200, INF, NAN}, 4)).toFloatArray());
    }

    @Test
    void nanPropagates() {
        Tensor x = Tensor.of(new float[] {NAN, 1, -1}, 3);
        Tensor y = Tensor.of(new float[] {0, NAN, -2}, 3);
        assertArrayEquals(new float[] {NAN, NAN, -1}, x.maximum(y).toFloatArray());
        assertArrayEquals(new float[] {NAN, NAN, -2}, x.minimum(y).toFloatArray());
        assertArrayEquals(new float[] {NAN, 1, 0}, Dispatch.apply(MathOps.RELU, x).toFloatArray());
        assertArrayEquals(new float[] {NAN, 0.5f, -0.5f}, x.clamp(-0.5f, 0.5f).toFloatArray());
        assertArrayEquals(new float[] {NAN, 1, -0.1f}, Dispatch.apply(MathOps.LEAKY_RELU, x, 0.1f).toFloatArray());
        assertArrayEquals(new byte[] {0, 1, 1}, x.eq(x).toByteArray()); // NaN != NaN
        assertArrayEquals(new byte[] {1, 1, 1}, x.ne(y).toByteArray());
        assertArrayEquals(new byte[] {0, 0, 0}, x.lt(y).toByteArray());
        assertArrayEquals(new byte[] {0, 0, 1}, x.ge(y).toByteArray());
    }

    @Test
    void clampWithMinAboveMaxGivesMax() {
        assertArrayEquals(new float[] {1, 1, 1}, Tensor.of(new float[] {-5, 1.5f, 5}, 3).clamp(2f, 1f).toFloatArray());
    }

    @Test
    void divisionByZero() {
        Tensor x = Tensor.of(new float[] {1, -1, 0}, 3);
        assertArrayEquals(new float[] {INF, -INF, NAN}, x.div(0f).toFloatArray());
        Tensor ints = Tensor.ofInts(new int[] {1, 0}, 2);
        assertArrayEquals(new float[] {INF, NAN}, ints.div(Tensor.ofInts(new int[] {0, 0}, 2)).toFloatArray());
    }

    @Test
    void integerScalarOperandsKeepTheTensorsDtype() {
        Tensor i32 = Tensor.ofInts(new int[] {1, 2}, 2);
        Tensor r = Dispatch.apply(MathOps.ADD, i32, 3);
        assertEquals(DType.INT32, r.dtype());
        assertArrayEquals(new long[] {4, 5}, r.toLongArray());
        Tensor u8 = Tensor.ofBytes(DType.UINT8, new byte[] {(byte) 250, 1}, 2);
        Tensor ru = Dispatch.apply(MathOps.ADD, u8, 10);
        assertEquals(DType.UINT8, ru.dtype());
        assertArrayEquals(new long[] {4, 11}, ru.toLongArray()); // uint8 arithmetic wraps, as in PyTorch
        // a scalar that does not fit widens to int64 instead of wrapping silently
        Tensor big = Dispatch.apply(MathOps.MUL, u8, 1000);
        assertEquals(DType.INT64, big.dtype());
        assertArrayEquals(new long[] {250_000, 1000}, big.toLongArray());
        Tensor l = Dispatch.apply(MathOps.SUB, Tensor.ofLongs(new long[] {1L << 40}, 1), 1);
        assertEquals(DType.INT64, l.dtype());
        assertEquals((1L << 40) - 1, l.getLong(0));
        Tensor b = Dispatch.apply(MathOps.ADD, Tensor.ofBools(new boolean[] {true}, 1), 2);
        assertEquals(DType.INT64, b.dtype());
        assertEquals(3L, b.getLong(0));
        // float scalars make float results; comparisons with integer scalars compare values
        assertEquals(DType.FLOAT32, i32.add(0.5f).dtype());
        assertArrayEquals(new byte[] {0, 1}, Dispatch.apply(MathOps.EQ, i32, 2).toByteArray());
        assertArrayEquals(new byte[] {1, 1}, Dispatch.apply(MathOps.LT, u8, 300).toByteArray());
    }

    @Test
    void integerPowerIsFastAndWraps() {
        Tensor base = Tensor.ofLongs(new long[] {3, -1, 0, 1}, 4);
        Tensor exps = Tensor.ofLongs(new long[] {Long.MAX_VALUE, Long.MAX_VALUE, 5, Long.MAX_VALUE}, 4);
        Tensor r = assertTimeoutPreemptively(java.time.Duration.ofSeconds(5),
                () -> Dispatch.apply(MathOps.POW, base, exps));
        long expected = 1;
        long b = 3;
        for (long e = Long.MAX_VALUE; e > 0; e >>= 1) { // 3^(2^63-1) mod 2^64 by the definition's repeated squaring
            if ((e & 1) != 0) {
                expected *= b;
            }
            b *= b;
        }
        assertArrayEquals(new long[] {expected, -1, 0, 1}, r.toLongArray());
        long slow = 1;
        for (int i = 0; i < 40; i++) {
            slow *= 3;
        }
        assertEquals(slow, Dispatch.apply(MathOps.POW, Tensor.ofLongs(new long[] {3}, 1),
                Tensor.ofLongs(new long[] {40}, 1)).getLong(0)); // 3^40 wraps past 2^63
        assertTrue(slow < 0);
    }

    @Test
    void unaryOpsGiveFloat32ForAnyInput() {
        Tensor i = Tensor.ofInts(new int[] {-4, 9}, 2);
        assertEquals(DType.FLOAT32, i.abs().dtype());
        assertArrayEquals(new float[] {4, 9}, i.abs().toFloatArray());
        assertArrayEquals(new float[] {NAN, 3}, i.sqrt().toFloatArray());
        assertArrayEquals(new float[] {1, (float) Math.exp(1)},
                Dispatch.apply(MathOps.EXP, Tensor.ofBools(new boolean[] {false, true}, 2)).toFloatArray());
    }

    @Test
    void broadcastErrors() {
        Tensor a = Tensor.zeros(2, 3);
        ShapeException e = assertThrows(ShapeException.class, () -> a.add(Tensor.zeros(2)));
        assertTrue(e.getMessage().contains("add") && e.getMessage().contains("[2, 3]"), e.getMessage());
        assertThrows(ShapeException.class, () -> a.lt(Tensor.zeros(3, 3)));
        assertThrows(ShapeException.class, () -> Tensor.where(a.gt(0f), a, Tensor.zeros(4)));
        // masked_fill's mask may not grow the input
        assertThrows(ShapeException.class, () -> Tensor.zeros(3).maskedFill(Tensor.zeros(2, 3).gt(0f), 1f));
        assertArrayEquals(new int[] {0, 3}, Tensor.zeros(1, 3).add(Tensor.zeros(0, 1)).shape());
        assertThrows(TensorException.class, () -> Dispatch.apply(MathOps.ADD, a, "1"));
    }
}
