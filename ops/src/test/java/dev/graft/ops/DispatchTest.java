package dev.graft.ops;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The one dispatch point: symbolic tensors are recorded, not computed; data access on them is refused; shape reads
 * are reported; eager calls reach the grad recorder.
 */
class DispatchTest {

    /** The refusal a tracer throws: a typed error naming what was asked. */
    static final class TraceRefusal extends RuntimeException {
        final String what;

        TraceRefusal(String what) {
            super("trace refused " + what);
            this.what = what;
        }
    }

    /** A tracer for tests: records op names and argument kinds, computes example values, logs shape reads. */
    static final class RecordingTracer implements SymbolicTracer {
        final List<String> nodes = new ArrayList<>();
        final List<String> refusals = new ArrayList<>();
        final List<Integer> shapeReads = new ArrayList<>();

        Tensor input(Tensor value, String name) {
            return Tensor.symbolic(value, this, name);
        }

        @Override
        public Object record(Op op, Object[] args) {
            Object[] concrete = new Object[args.length];
            for (int i = 0; i < args.length; i++) {
                concrete[i] = args[i] instanceof Tensor t ? t.concrete() : args[i];
                if (args[i] instanceof Tensor[] ts) {
                    Tensor[] c = new Tensor[ts.length];
                    for (int j = 0; j < ts.length; j++) {
                        c[j] = ts[j].concrete();
                    }
                    concrete[i] = c;
                }
            }
            String name = op.name() + "_" + nodes.size();
            nodes.add(name);
            Object value = Dispatch.computeEagerly(op, concrete);
            if (value instanceof Tensor t) {
                return Tensor.symbolic(t, this, name);
            }
            Tensor[] ts = (Tensor[]) value;
            Tensor[] out = new Tensor[ts.length];
            for (int j = 0; j < ts.length; j++) {
                out[j] = Tensor.symbolic(ts[j], this, name + "[" + j + "]");
            }
            return out;
        }

        @Override
        public RuntimeException refuseConcreteAccess(Tensor tensor, String what) {
            refusals.add(what);
            return new TraceRefusal(what);
        }

        @Override
        public void shapeRead(Tensor tensor, int dim) {
            shapeReads.add(dim);
        }
    }

    /** Counts eager calls, like the autograd tape would. */
    static final class CountingRecorder implements GradRecorder {
        final List<String> ops = new ArrayList<>();
        final List<Object> results = new ArrayList<>();

        @Override
        public void record(Op op, Object[] args, Object result) {
            ops.add(op.name());
            results.add(result);
        }
    }

    @AfterEach
    void removeRecorder() {
        Dispatch.installGradRecorder(null);
    }

    @Test
    void opsOnSymbolicTensorsAreRecordedNotComputedByTheCaller() {
        RecordingTracer tracer = new RecordingTracer();
        Tensor x = tracer.input(Tensor.of(new float[] {1, -2, 3, -4, 5, -6}, 2, 3), "x");
        assertTrue(x.isSymbolic());
        assertSame(tracer, x.tracer());
        assertEquals("x", x.symbolicNode());
        Tensor y = x.add(1f).mul(x).t().reshape(6).exp().sum();
        assertEquals(List.of("add_0", "mul_1", "transpose_2", "reshape_3", "exp_4", "sum_5"), tracer.nodes);
        assertTrue(y.isSymbolic());
        assertEquals("sum_5", y.symbolicNode());
        // The example value was computed along the way (by the tracer, through computeEagerly).
        float expected = 0;
        for (float v : new float[] {1, -2, 3, -4, 5, -6}) {
            expected += (float) Math.exp((v + 1) * v);
        }
        assertEquals(expected, y.concrete().item(), 1e-3f * expected);
        assertFalse(y.concrete().isSymbolic());
        assertTrue(y.toString().contains("<symbolic sum_5>"), y.toString());
    }

    @Test
    void aSymbolicArgumentAnywhereMakesTheCallSymbolic() {
        RecordingTracer tracer = new RecordingTracer();
        Tensor s = tracer.input(Tensor.ones(3), "s");
        Tensor plain = Tensor.of(new float[] {1, 2, 3}, 3);
        assertTrue(plain.add(s).isSymbolic()); // second position
        assertTrue(Tensor.where(plain.gt(1f), plain, s).isSymbolic()); // third position (gt alone is eager)
        assertTrue(Dispatch.apply(MovementOps.CAT, new Tensor[] {plain, s}, 0).isSymbolic()); // inside a Tensor[]
        Object pieces = Dispatch.call(MovementOps.SPLIT, s, new int[] {1, 2}, 0);
        Tensor[] ps = assertInstanceOf(Tensor[].class, pieces);
        assertTrue(ps[0].isSymbolic() && ps[1].isSymbolic());
        assertEquals(List.of("add_0", "where_1", "cat_2", "split_3"), tracer.nodes);
        // computeEagerly bypasses the tracer entirely
        Tensor eager = (Tensor) Dispatch.computeEagerly(MathOps.ADD, plain, s.concrete());
        assertFalse(eager.isSymbolic());
        assertEquals(4, tracer.nodes.size());
    }

    @Test
    void dataAccessOnSymbolicTensorsIsRefused() {
        RecordingTracer tracer = new RecordingTracer();
        Tensor x = tracer.input(Tensor.of(new float[] {1, 2, 3, 4}, 2, 2), "x");
        Tensor one = tracer.input(Tensor.scalar(1f), "one");
        List<Executable> accesses = List.of(one::item, one::itemLong, one::isTrue, x::toFloatArray,
                x::toLongArray, x::toIntArray, () -> x.getFloat(0, 1), () -> x.getLong(1, 1),
                () -> x.gt(2f).toByteArray());
        for (Executable access : accesses) {
            assertThrows(TraceRefusal.class, access);
        }
        assertEquals(accesses.size(), tracer.refusals.size());
        assertEquals("item()", tracer.refusals.get(0));
        assertTrue(tracer.refusals.get(2).contains("isTrue"), tracer.refusals.get(2));
        assertTrue(tracer.refusals.get(6).contains("getFloat([0, 1])"), tracer.refusals.get(6));
        // Recording ops and printing are fine: they hand no data to user code.
        x.sum();
        x.toString();
    }

    @Test
    void shapeReadsAreReported() {
        RecordingTracer tracer = new RecordingTracer();
        Tensor x = tracer.input(Tensor.zeros(2, 3, 4), "x");
        assertEquals(4, x.size(-1));
        assertEquals(List.of(2), tracer.shapeReads);
        tracer.shapeReads.clear();
        assertArrayEquals(new int[] {2, 3, 4}, x.shape());
        assertEquals(List.of(0, 1, 2), tracer.shapeReads);
        tracer.shapeReads.clear();
        assertEquals(24, x.numel());
        assertEquals(List.of(0, 1, 2), tracer.shapeReads);
        tracer.shapeReads.clear();
        // Rank, dtype and operators do not read sizes.
        assertEquals(3, x.dim());
        assertEquals(DType.FLOAT32, x.dtype());
        x.permute(2, 0, 1).reshape(-1).add(1f);
        assertTrue(tracer.shapeReads.isEmpty(), tracer.shapeReads.toString());
        // narrow with a negative start depends on the size, so it reads it
        x.narrow(1, -2, 2);
        assertEquals(List.of(1), tracer.shapeReads);
        // a concrete tensor reports nothing
        Tensor.zeros(2).size(0);
        assertEquals(List.of(1), tracer.shapeReads);
    }

    @Test
    void concreteOfSymbolicSharesTheExampleValue() {
        RecordingTracer tracer = new RecordingTracer();
        Tensor value = Tensor.of(new float[] {1, 2}, 2);
        Tensor s = tracer.input(value, "s");
        assertTrue(s.sharesStorageWith(value));
        assertArrayEquals(new float[] {1, 2}, s.concrete().toFloatArray());
        assertSame(value, value.concrete());
        assertThrows(IllegalArgumentException.class, () -> Tensor.symbolic(value, null, "n"));
        assertThrows(IllegalArgumentException.class, () -> Tensor.symbolic(value, tracer, null));
    }

    @Test
    void gradRecorderSeesEagerCalls() {
        CountingRecorder recorder = new CountingRecorder();
        Dispatch.installGradRecorder(recorder);
        Tensor x = Tensor.of(new float[] {1, 2, 3}, 3);
        Tensor y = x.mul(2f).add(x).sum();
        assertEquals(List.of("mul", "add", "sum"), recorder.ops);
        assertSame(y, recorder.results.get(2));
        assertEquals(18f, y.item());
        // tracing is not recorded as eager computation
        RecordingTracer tracer = new RecordingTracer();
        tracer.input(x, "x").exp();
        assertEquals(List.of("exp_0"), tracer.nodes);
        assertEquals(List.of("mul", "add", "sum"), recorder.ops);
        // computeEagerly bypasses recording
        Dispatch.computeEagerly(MathOps.NEG, x);
        assertFalse(recorder.ops.contains("neg"));
        Dispatch.installGradRecorder(null);
        x.neg();
        assertFalse(recorder.ops.contains("neg"));
    }

    @Test
    void applyRefusesMultiResultOps() {
        Tensor x = Tensor.zeros(4);
        TensorException e = assertThrows(TensorException.class,
                () -> Dispatch.apply(MovementOps.SPLIT, x, new int[] {2, 2}, 0));
        assertTrue(e.getMessage().contains("split"), e.getMessage());
    }

    @Test
    void opArgumentErrorsNameTheOp() {
        TensorException e = assertThrows(TensorException.class, () -> Dispatch.apply(MathOps.EXP, 3f));
        assertTrue(e.getMessage().startsWith("exp: argument 0 must be a tensor"), e.getMessage());
        e = assertThrows(TensorException.class, () -> Dispatch.apply(MovementOps.RESHAPE, Tensor.zeros(2)));
        assertTrue(e.getMessage().contains("reshape") && e.getMessage().contains("only 1 arguments"), e.getMessage());
        e = assertThrows(TensorException.class, () -> Dispatch.apply(MovementOps.TRANSPOSE, Tensor.zeros(2, 2), 0, "1"));
        assertTrue(e.getMessage().contains("must be an int"), e.getMessage());
        assertEquals(Op.Kind.UNARY, MathOps.EXP.kind());
        assertEquals(Op.Kind.MOVEMENT, MovementOps.CAT.kind());
        assertEquals(Op.Kind.REDUCTION, ReduceOps.SUM.kind());
        assertEquals(Op.Kind.LINALG, LinalgOps.MATMUL.kind());
        assertEquals(Op.Kind.QUANTIZED, QuantOps.DEQUANTIZE.kind());
        assertEquals(Op.Kind.COMPARISON, MathOps.LT.kind());
        assertEquals("matmul", LinalgOps.MATMUL.toString());
        assertNull(Tensor.zeros(1).tracer());
    }
}
