package dev.graft.testmodels;

import dev.graft.engine.Module;
import dev.graft.engine.Submodule;
import dev.graft.engine.nn.Linear;
import dev.graft.engine.nn.ModuleList;
import dev.graft.engine.nn.ReLU;
import dev.graft.ops.F;
import dev.graft.ops.Tensor;

import java.util.Random;

/**
 * Small models with the kinds of control flow real model code has, for tracer and partitioner tests. They live
 * outside Graft's framework packages on purpose: the tracer names the first frame outside Graft as the culprit.
 */
public final class ControlFlowModels {
    private ControlFlowModels() {
    }

    /** Linear + ReLU + a scale parameter and a constant made inside forward: traces completely. */
    public static final class Clean extends Module {
        private final Submodule fc;
        private final Submodule act = submodule("act", new ReLU());
        private final Tensor scale;

        public Clean(int width, long seed) {
            fc = submodule("fc", new Linear(width, width, true, new Random(seed)));
            scale = registerParameter("scale", Tensor.full(0.5f, width));
        }

        @Override
        protected Tensor forward(Tensor... inputs) {
            Tensor x = single(inputs);
            Tensor h = act.call(fc.call(x)).mul(scale);
            return h.add(Tensor.ones(h.size(-1)));
        }
    }

    /** Branches on the data: {@code if (x.sum().item() > 0)}. */
    public static final class Branchy extends Module {
        public static final int BRANCH_LINE = 55;
        private final Submodule a;
        private final Submodule b;

        public Branchy(int width, long seed) {
            a = submodule("a", new Clean(width, seed));
            b = submodule("b", new Clean(width, seed + 1));
        }

        @Override
        protected Tensor forward(Tensor... inputs) {
            Tensor x = single(inputs);
            Tensor h = a.call(x);
            if (x.mean().item() > 0f) { // BRANCH_LINE
                return b.call(h);
            }
            return h.neg();
        }
    }

    /** A reshape that reads the batch size from its input: traces, with a guard on dimension 0. */
    public static final class Reshaper extends Module {
        @Override
        protected Tensor forward(Tensor... inputs) {
            Tensor x = single(inputs);
            int batch = x.size(0);
            return x.reshape(batch, -1).mul(2f);
        }
    }

    /** Early exit over a list of layers, as DeeBERT: stops when the running output's max is large. */
    public static final class EarlyExit extends Module {
        private final ModuleList layers;
        private final float threshold;

        public EarlyExit(int width, int depth, float threshold, long seed) {
            this.threshold = threshold;
            ModuleList list = new ModuleList();
            for (int i = 0; i < depth; i++) {
                list.add(new Clean(width, seed + i));
            }
            layers = registerModule("layers", list);
        }

        @Override
        protected Tensor forward(Tensor... inputs) {
            Tensor x = single(inputs);
            for (Module layer : layers) {
                x = layer.call(x);
                if (x.max().item() > threshold) {
                    break;
                }
            }
            return F.softmax(x, -1);
        }
    }

    /** Turns data into a Java value in one of the ways a tracer must refuse. */
    public static final class AsksForData extends Module {
        private final String what;

        public AsksForData(String what) {
            this.what = what;
        }

        @Override
        protected Tensor forward(Tensor... inputs) {
            Tensor x = single(inputs);
            switch (what) {
                case "isTrue" -> x.sum().gt(0f).isTrue();
                case "toFloatArray" -> x.toFloatArray();
                case "getFloat" -> x.getFloat(0, 0);
                case "loop" -> {
                    for (int i = 0; i < x.sum().itemLong(); i++) {
                        x = x.add(1f);
                    }
                }
                default -> throw new IllegalArgumentException(what);
            }
            return x;
        }
    }
}
