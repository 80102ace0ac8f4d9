package dev.graft.spark;

import dev.graft.Graft;
import dev.graft.engine.Module;
import dev.graft.engine.quant.Approach;
import dev.graft.engine.quant.QConfigMapping;
import dev.graft.engine.quant.observe.HistogramObserver;
import dev.graft.engine.quant.observe.Observer;
import dev.graft.engine.quant.passes.StaticQuantizer;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

import java.io.Serial;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;

/**
 * Static-quantization calibration over a Dataset of any size: every partition runs its rows through its own
 * prepared copy of the model (observers in), and the driver folds the observers' statistics together into its
 * copy, which it then converts to INT8.
 * <pre>{@code
 * Graft.Prepared p = SparkCalibration.calibrate(rows, spec, 32);     // spec: build the FP32 model, batch rows
 * p.convert().save(Path.of("model.graft"));
 * }</pre>
 *
 * <p><b>How the statistics merge.</b> Minimum and maximum (per tensor, per channel) merge exactly and in any order.
 * A histogram observer's grid normally grows batch by batch, so its result depends on the order of the batches;
 * here calibration makes two passes instead: the first finds each histogram observer's data range over all
 * partitions, the second starts every partition's observer on that one grid ({@link HistogramObserver#startAt}),
 * so the partitions' counts add up exactly. The merged result is then bit for bit what one JVM gets by the same
 * two passes over the same batches, and what one histogram observer gets observing all the values as one batch.
 * Moving averages (QAT's observers) merge in partition order ({@code mergeFollowing}). The cost: the model runs
 * twice over the calibration data when it has histogram observers (the default mapping does).
 *
 * <p>Every JVM builds the model with {@link ModelSpec#build()} and traces it with the same example rows (the
 * first {@code batchSize} rows the driver sees), so the observers have the same names everywhere; a mismatch is
 * reported, not guessed at.
 */
public final class SparkCalibration {
    private SparkCalibration() {
    }

    /** How to build and feed the model on any JVM; serializable, so keep it to settings (paths, sizes). */
    public interface ModelSpec extends Serializable {
        /**
         * The FP32 model, the same on every JVM and every call (weights from a file, or from a fixed seed). Tasks
         * running at once on one executor call it at the same time: a seeded build must hold a lock around the
         * seed and the construction, since Graft's seed is global.
         */
        Module build();

        /** One batch of rows as the model's {@code callAny} arguments. */
        Object[] inputs(List<Row> rows);

        /** Where observers go and which (default: {@link StaticQuantizer#defaultMapping()}). */
        default QConfigMapping mapping() {
            return StaticQuantizer.defaultMapping();
        }
    }

    /** Calibrates on every row of {@code data}, {@code batchSize} rows per model call; the driver's model, ready. */
    public static Graft.Prepared calibrate(Dataset<Row> data, ModelSpec spec, int batchSize) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize must be >= 1, got " + batchSize);
        }
        List<Row> examples = data.limit(batchSize).collectAsList();
        if (examples.isEmpty()) {
            throw new IllegalArgumentException("calibration data is empty: no rows to calibrate on");
        }
        Graft.Prepared driver = prepare(spec, examples);
        Map<String, Observer> observers = flatten(driver);
        Map<String, float[]> ranges = null;
        if (observers.values().stream().anyMatch(o -> o instanceof HistogramObserver)) {
            ranges = new LinkedHashMap<>();
            for (PartitionStates part : run(data, new PartitionCalibration(spec, examples, batchSize, null))) {
                for (var e : part.states().entrySet()) {
                    if (e.getValue().kind() == ObserverState.Kind.HISTOGRAM && e.getValue().batches() > 0) {
                        float[] d = e.getValue().data();
                        ranges.merge(e.getKey(), d.clone(), (a, b) -> new float[] {Math.min(a[0], b[0]),
                                Math.max(a[1], b[1])});
                    }
                }
            }
        }
        for (PartitionStates part : run(data, new PartitionCalibration(spec, examples, batchSize, ranges))) {
            if (!part.states().keySet().equals(observers.keySet())) {
                throw new IllegalStateException("partition " + part.index() + " has observers " + part.states()
                        .keySet() + " but the driver's model has " + observers.keySet() + ": ModelSpec.build()"
                        + " or the mapping differ between JVMs");
            }
            part.states().forEach((name, state) -> state.mergeInto(observers.get(name), name));
        }
        return driver;
    }

    /** The partitions' statistics, in partition order (the order moving averages are merged in). */
    private static List<PartitionStates> run(Dataset<Row> data, PartitionCalibration job) {
        List<PartitionStates> out = new ArrayList<>(data.javaRDD().mapPartitionsWithIndex(job, false).collect());
        out.sort(java.util.Comparator.comparingInt(PartitionStates::index));
        return out;
    }

    static Graft.Prepared prepare(ModelSpec spec, List<Row> examples) {
        Module model = spec.build();
        return Graft.prepare(model, List.<Object[]>of(spec.inputs(examples)),
                new Graft.Config(Approach.STATIC, spec.mapping()));
    }

    /** Observers by "block/name". */
    static Map<String, Observer> flatten(Graft.Prepared prepared) {
        Map<String, Observer> out = new LinkedHashMap<>();
        prepared.steps().observers().forEach((block, byName) ->
                byName.forEach((name, o) -> out.put(block + "/" + name, o)));
        return out;
    }

    /** One partition's observer statistics. */
    record PartitionStates(int index, Map<String, ObserverState> states) implements Serializable {
    }

    /** What each partition runs: prepare, (start histograms on the common grid,) calibrate, report. */
    private record PartitionCalibration(ModelSpec spec, List<Row> examples, int batchSize, Map<String, float[]> ranges)
            implements Function2<Integer, Iterator<Row>, Iterator<PartitionStates>> {
        @Serial
        private static final long serialVersionUID = 1L;

        @Override
        public Iterator<PartitionStates> call(Integer index, Iterator<Row> rows) {
            if (!rows.hasNext()) {
                return java.util.Collections.emptyIterator();
            }
            ExecutorThreads.configure(0);
            Graft.Prepared prepared = prepare(spec, examples);
            Map<String, Observer> observers = flatten(prepared);
            if (ranges != null) {
                ranges.forEach((name, r) -> ((HistogramObserver) observers.get(name)).startAt(r[0], r[1]));
            }
            prepared.calibrate(() -> batches(rows));
            Map<String, ObserverState> states = new LinkedHashMap<>();
            observers.forEach((name, o) -> states.put(name, ObserverState.of(o, name)));
            return List.of(new PartitionStates(index, states)).iterator();
        }

        /** The partition's rows as model inputs, {@code batchSize} rows at a time, read as they are needed. */
        private Iterator<Object[]> batches(Iterator<Row> rows) {
            return new Iterator<>() {
                @Override
                public boolean hasNext() {
                    return rows.hasNext();
                }

                @Override
                public Object[] next() {
                    if (!rows.hasNext()) {
                        throw new NoSuchElementException();
                    }
                    List<Row> batch = new ArrayList<>(batchSize);
                    while (rows.hasNext() && batch.size() < batchSize) {
                        batch.add(rows.next());
                    }
                    return spec.inputs(batch);
                }
            };
        }
    }
}
