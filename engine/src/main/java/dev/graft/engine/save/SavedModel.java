package dev.graft.engine.save;

import dev.graft.engine.Module;
import dev.graft.engine.graph.Graph;
import dev.graft.engine.graph.GraphException;
import dev.graft.engine.graph.GraphModule;
import dev.graft.engine.graph.GraphOps;
import dev.graft.engine.graph.Guard;
import dev.graft.engine.graph.InputSignature;
import dev.graft.engine.graph.Meta;
import dev.graft.engine.graph.Node;
import dev.graft.engine.graph.NodeKind;
import dev.graft.engine.graph.Target;
import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.PartitionNode;
import dev.graft.ops.DType;
import dev.graft.ops.Op;
import dev.graft.ops.OpRegistry;
import dev.graft.ops.QParams;
import dev.graft.ops.Tensor;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A partitioned (and usually quantized) model to and from an {@link Archive}: a JSON-shaped manifest plus a table
 * of plain tensors, which the api module's {@code dev.graft.GraftFile} writes as one file. The manifest holds
 * <ul>
 *   <li>the imperative glue: its class (a {@link Savable}) and configuration, and its own tensors;</li>
 *   <li>the partition tree (statuses, reasons, op counts), as the partitioner found it;</li>
 *   <li>per traced block: every graph it has (one per shape specialization) with its input signature, guards and
 *       nodes (operators by registered name, arguments as {@link Values}), and the modules and tensors the graphs
 *       name (quantized layers as int8 weights with qparams, not in the kernels' packed layout).</li>
 * </ul>
 * No observer, calibration state or FP32 original of a quantized layer is kept. Loading rebuilds the glue through
 * its {@code fromConfig}, rebuilds each block's modules (packing INT8 weights once), grafts the blocks in at their
 * paths, and checks everything on the way: unknown operators, module types or classes, node references, graph lint,
 * tensors missing or left over. A loaded block runs its saved graphs as they are; it cannot re-trace, so shapes no
 * saved graph accepts are refused (the reference models' blocks read no sizes, so one graph serves every shape).
 */
public final class SavedModel {
    /** The manifest's {@code format} value. */
    public static final String FORMAT = "graft-quantized-model";
    /** The manifest version this code writes and reads. */
    public static final int VERSION = 2;

    private SavedModel() {
    }

    /** A manifest (maps, lists, strings, ints, booleans, null) and the tensors it names by key. */
    public record Archive(Map<String, Object> manifest, Map<String, Tensor> tensors) {
    }

    /** A loaded model: the model with its blocks grafted in, its partition tree, and the saved info. */
    public record Loaded(Partition partition, Map<String, Object> info) {
        public Module model() {
            return partition.model();
        }
    }

    // ================================================================ encode

    /** The archive of {@code partition}'s model; {@code info} is free-form (approach, sizes, provenance). */
    public static Archive encode(Partition partition, Map<String, Object> info) {
        Encoder e = new Encoder();
        return e.run(partition, info);
    }

    private static final class Encoder {
        final Map<String, Tensor> tensors = new LinkedHashMap<>();

        Archive run(Partition p, Map<String, Object> info) {
            Module model = p.model();
            Map<String, GraphModule> blocks = p.blocks();
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("format", FORMAT);
            m.put("version", VERSION);
            // Sorted by key: callers pass Map.of, whose order changes from run to run, and a file should not.
            m.put("info", Values.encode(new java.util.TreeMap<>(info), null, "info"));
            if (blocks.containsKey("")) {
                m.put("model", null);
            } else {
                if (!(model instanceof Savable s)) {
                    throw new SavedModelException("model", model.getClass().getName() + " does not implement Savable,"
                            + " so its imperative code cannot be rebuilt at load (implement saveConfig and a static"
                            + " fromConfig)");
                }
                ModuleCodecs.Savables.validate(model.getClass(), "model");
                Map<String, Object> glue = new LinkedHashMap<>();
                glue.put("class", model.getClass().getName());
                glue.put("config", Values.encode(s.saveConfig(), null, "model config"));
                Map<String, Object> state = new LinkedHashMap<>();
                model.stateDict().forEach((k, t) -> {
                    if (!underAny(k, blocks.keySet())) {
                        state.put(k, tensorRef("glue/" + k, t));
                    }
                });
                glue.put("state", state);
                m.put("model", glue);
            }
            m.put("partition", tree(p.tree()));
            List<Object> bs = new ArrayList<>();
            int i = 0;
            for (Map.Entry<String, GraphModule> b : blocks.entrySet()) {
                bs.add(block(i++, b.getKey(), b.getValue()));
            }
            m.put("blocks", bs);
            return new Archive(m, tensors);
        }

        Map<String, Object> block(int index, String path, GraphModule block) {
            String where = "block '" + path + "'";
            String prefix = "blocks/" + index + "/";
            Map<String, Module> named = block.namedModules();
            Map<String, Tensor> state = block.stateDict();
            Set<String> modulePaths = new TreeSet<>();
            Set<String> attrPaths = new TreeSet<>();
            List<GraphModule.Specialization> specs = block.specializations();
            for (GraphModule.Specialization s : specs) {
                for (Node n : s.graph()) {
                    if (n.target() instanceof Target.ModuleCall mc) {
                        modulePaths.add(mc.path());
                    } else if (n.target() instanceof Target.Attr a && !s.constants().containsKey(a.path())) {
                        attrPaths.add(a.path());
                    }
                }
            }
            Map<String, Object> modules = new LinkedHashMap<>();
            for (String mp : modulePaths) {
                Module mod = named.get(mp);
                if (mod == null) {
                    throw new SavedModelException(where, "a graph calls module '" + mp + "', which the block lacks");
                }
                ModuleRecord r = ModuleCodecs.encode(mod, where + ", module '" + mp + "'");
                modules.put(mp, record(prefix + "modules/" + mp + "/", r));
            }
            Map<String, Object> attrs = new LinkedHashMap<>();
            for (String ap : attrPaths) {
                if (underAny(ap, modulePaths)) {
                    continue;   // saved with its module
                }
                Tensor t = state.get(ap);
                if (t == null) {
                    throw new SavedModelException(where, "a graph reads '" + ap + "', which the block lacks");
                }
                attrs.put(ap, tensorRef(prefix + "attrs/" + ap, t));
            }
            List<Object> graphs = new ArrayList<>();
            for (int j = 0; j < specs.size(); j++) {
                graphs.add(graph(prefix + "graphs/" + j + "/", specs.get(j), where + ", graph " + j));
            }
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("path", path);
            out.put("source", block.sourceName());
            out.put("modules", modules);
            out.put("attrs", attrs);
            out.put("graphs", graphs);
            return out;
        }

        Map<String, Object> graph(String prefix, GraphModule.Specialization s, String where) {
            Map<String, Object> out = new LinkedHashMap<>();
            List<Object> sig = new ArrayList<>();
            for (InputSignature.Entry e : s.signature().entries()) {
                Map<String, Object> x = new LinkedHashMap<>();
                switch (e) {
                    case InputSignature.TensorEntry t -> {
                        x.put("kind", "tensor");
                        x.put("dtype", t.dtype().name());
                        x.put("rank", t.rank());
                        x.put("quantized", t.quantized());
                    }
                    case InputSignature.NullEntry n -> x.put("kind", "null");
                    case InputSignature.ArrayEntry a -> {
                        x.put("kind", "array");
                        x.put("length", a.length());
                    }
                    case InputSignature.ConstantEntry c -> {
                        x.put("kind", "constant");
                        x.put("value", Values.encode(c.value(), null, where + ", signature"));
                    }
                }
                sig.add(x);
            }
            out.put("signature", sig);
            List<Object> guards = new ArrayList<>();
            for (Guard g : s.guards()) {
                guards.add(List.of(g.input(), g.dim(), g.size()));
            }
            out.put("guards", guards);
            Map<String, Object> constants = new LinkedHashMap<>();
            s.constants().forEach((k, t) -> constants.put(k, tensorRef(prefix + "constants/" + k, t)));
            out.put("constants", constants);
            List<Object> nodes = new ArrayList<>();
            for (Node n : s.graph()) {
                String nw = where + ", node '" + n.name() + "'";
                Map<String, Object> x = new LinkedHashMap<>();
                x.put("name", n.name());
                x.put("kind", n.kind().name().toLowerCase(java.util.Locale.ROOT));
                switch (n.target()) {
                    case Target.Input in -> x.put("target", in.name());
                    case Target.Attr a -> x.put("target", a.path());
                    case Target.ModuleCall mc -> x.put("target", mc.path());
                    case Target.Function f -> {
                        if (GraphOps.byName(f.op().name()) != f.op()) {
                            throw new SavedModelException(nw, "operator '" + f.op().name() + "' is not registered"
                                    + " (OpRegistry.register it so a loader can find it by name)");
                        }
                        x.put("target", f.op().name());
                    }
                    case Target.Output o -> {
                    }
                }
                x.put("args", Values.encode(n.args(), v -> v instanceof Node a ? a.name() : null, nw));
                Map<String, Object> meta = new LinkedHashMap<>();
                n.metaEntries().forEach((k, v) -> {
                    try {
                        meta.put(k.name(), Values.encode(v, null, nw));
                    } catch (SavedModelException ignored) {
                        // annotations are informative only; one that is not a plain value is left out
                    }
                });
                x.put("meta", meta);
                nodes.add(x);
            }
            out.put("nodes", nodes);
            return out;
        }

        Map<String, Object> record(String prefix, ModuleRecord r) {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("type", r.type());
            out.put("config", Values.encode(r.config(), null, prefix));
            Map<String, Object> ts = new LinkedHashMap<>();
            r.tensors().forEach((k, t) -> ts.put(k, tensorRef(prefix + k, t)));
            out.put("tensors", ts);
            Map<String, Object> cs = new LinkedHashMap<>();
            r.children().forEach((k, c) -> cs.put(k, record(prefix + k + "/", c)));
            out.put("children", cs);
            return out;
        }

        /** Puts {@code t} in the table under {@code key} (qparams split into plain tensors) and returns the reference. */
        Map<String, Object> tensorRef(String key, Tensor t) {
            Tensor c = t.concrete();
            Map<String, Object> ref = new LinkedHashMap<>();
            ref.put("tensor", key);
            if (c.isQuantized()) {
                tensors.put(key, Tensor.ofBytes(c.dtype(), c.toByteArray(), c.shape()));
                switch (c.qparams()) {
                    case QParams.PerTensor q -> {
                        ref.put("scale", Values.encode(q.scale(), null, key));
                        ref.put("zero_point", q.zeroPoint());
                    }
                    case QParams.PerChannel q -> {
                        tensors.put(key + ".scales", Tensor.of(q.scales().clone(), q.channels()));
                        tensors.put(key + ".zero_points", Tensor.ofInts(q.zeroPoints().clone(), q.channels()));
                        ref.put("axis", q.axis());
                    }
                }
            } else {
                tensors.put(key, c.contiguous());
            }
            return ref;
        }
    }

    static Map<String, Object> tree(PartitionNode n) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("path", n.path());
        out.put("class", n.moduleClass());
        out.put("status", n.status().name());
        out.put("reason", n.reason());
        out.put("line", n.sourceLine());
        out.put("ops", new LinkedHashMap<>(n.opCounts()));
        List<Object> children = new ArrayList<>();
        for (PartitionNode c : n.children()) {
            children.add(tree(c));
        }
        out.put("children", children);
        return out;
    }

    static boolean underAny(String key, Set<String> paths) {
        for (String p : paths) {
            if (p.isEmpty() || key.equals(p) || key.startsWith(p + ".")) {
                return true;
            }
        }
        return false;
    }

    // ================================================================ decode

    /** Rebuilds the model an archive describes, checking every part of it. */
    public static Loaded decode(Archive archive) {
        return new Decoder(archive).run();
    }

    private static final class Decoder {
        final Map<String, Object> manifest;
        final Map<String, Tensor> tensors;
        final Set<String> used = new TreeSet<>();

        Decoder(Archive a) {
            this.manifest = a.manifest();
            this.tensors = a.tensors();
        }

        Loaded run() {
            Object format = manifest.get("format");
            if (!FORMAT.equals(format)) {
                throw new SavedModelException("manifest", "format is " + format + ", expected '" + FORMAT + "'");
            }
            Object version = manifest.get("version");
            if (!(version instanceof Integer v) || v != VERSION) {
                throw new SavedModelException("manifest", "version " + version + " is not supported (this Graft reads"
                        + " version " + VERSION + ")");
            }
            Object infoJson = Values.decode(manifest.get("info"), null, "info");
            Map<String, Object> info = infoJson instanceof Map<?, ?> im ? cast(im) : Map.of();
            Map<String, GraphModule> blocks = new LinkedHashMap<>();
            List<Object> bs = list(manifest.get("blocks"), "blocks");
            for (int i = 0; i < bs.size(); i++) {
                Map<String, Object> b = map(bs.get(i), "blocks[" + i + "]");
                String path = string(b, "path", "blocks[" + i + "]");
                if (blocks.containsKey(path)) {
                    throw new SavedModelException("blocks[" + i + "]", "block path '" + path + "' appears twice");
                }
                blocks.put(path, block(b, "block '" + path + "'"));
            }
            Module model;
            Object glue = manifest.get("model");
            if (glue == null) {
                if (blocks.size() != 1 || !blocks.containsKey("")) {
                    throw new SavedModelException("model", "no glue model, so there must be exactly one block, at the"
                            + " root; found " + blocks.keySet());
                }
                model = blocks.get("");
            } else {
                model = glue(map(glue, "model"), blocks);
            }
            PartitionNode tree = partitionNode(map(manifest.get("partition"), "partition"), "partition");
            Set<String> traced = new TreeSet<>();
            for (PartitionNode n : tree.flatten()) {
                if (n.status() == PartitionNode.Status.TRACED) {
                    traced.add(n.path());
                }
            }
            if (!traced.equals(new TreeSet<>(blocks.keySet()))) {
                throw new SavedModelException("partition", "the tree's traced blocks " + traced + " are not the saved"
                        + " blocks " + new TreeSet<>(blocks.keySet()));
            }
            Set<String> unused = new TreeSet<>(tensors.keySet());
            unused.removeAll(used);
            if (!unused.isEmpty()) {
                throw new SavedModelException("tensors", unused.size() + " tensor(s) that nothing refers to, e.g. "
                        + unused.iterator().next());
            }
            model.eval();
            return new Loaded(new Partition(model, tree), info);
        }

        Module glue(Map<String, Object> g, Map<String, GraphModule> blocks) {
            String className = string(g, "class", "model");
            Object config = Values.decode(g.get("config"), null, "model config");
            if (!(config instanceof Map<?, ?> cm)) {
                throw new SavedModelException("model", "config must be a map");
            }
            // The glue model is built whole before the blocks replace parts of it: its configuration may declare no
            // more parameters than the file's tensors could fill.
            long present = tensors.values().stream().mapToLong(Tensor::numel).sum();
            Module model = ModuleCodecs.Savables.create(className, new SavedConfig(className, cast(cm),
                    LoadCheck.glueBudget(present)), "model");
            for (Map.Entry<String, GraphModule> b : blocks.entrySet()) {
                try {
                    model.module(b.getKey());
                    model.replaceModule(b.getKey(), b.getValue());
                } catch (RuntimeException e) {
                    throw new SavedModelException("block '" + b.getKey() + "'", "the rebuilt " + className
                            + " has no module at this path to graft the block onto (" + e.getMessage() + ")");
                }
            }
            model.namedModules().forEach((path, m) -> {
                if (m instanceof Placeholder ph) {
                    throw new SavedModelException("model", "module '" + path + "' (" + ph.what() + ") of the rebuilt "
                            + className + " is a placeholder that no saved block replaced");
                }
            });
            Map<String, Object> stateRefs = map(g.get("state"), "model.state");
            Set<String> expected = new TreeSet<>();
            for (String k : model.stateDict().keySet()) {
                if (!underAny(k, blocks.keySet())) {
                    expected.add(k);
                }
            }
            if (!expected.equals(new TreeSet<>(stateRefs.keySet()))) {
                Set<String> missing = new TreeSet<>(expected);
                missing.removeAll(stateRefs.keySet());
                Set<String> extra = new TreeSet<>(stateRefs.keySet());
                extra.removeAll(expected);
                throw new SavedModelException("model.state", className + "'s own tensors do not match the file:"
                        + (missing.isEmpty() ? "" : " missing " + missing) + (extra.isEmpty() ? "" : " unexpected " + extra));
            }
            Map<String, Tensor> state = new LinkedHashMap<>();
            stateRefs.forEach((k, ref) -> state.put(k, tensor(ref, "model.state['" + k + "']")));
            state.forEach((k, t) -> LoadCheck.finite(t, k, "model.state['" + k + "']"));
            try {
                // Not strict: the key sets were compared above, and the blocks' tensors are already in place.
                model.loadStateDict(state, false);
            } catch (RuntimeException e) {
                throw new SavedModelException("model.state", "tensors do not fit " + className + ": " + e.getMessage(), e);
            }
            return model;
        }

        GraphModule block(Map<String, Object> b, String where) {
            String source = string(b, "source", where);
            Holder holder = new Holder();
            Map<String, Object> modules = map(b.get("modules"), where + ".modules");
            for (Map.Entry<String, Object> e : modules.entrySet()) {
                String mw = where + ", module '" + e.getKey() + "'";
                holder.put(e.getKey(), ModuleCodecs.decode(record(map(e.getValue(), mw), mw), mw), mw);
            }
            Map<String, Object> attrs = map(b.get("attrs"), where + ".attrs");
            for (Map.Entry<String, Object> e : attrs.entrySet()) {
                String aw = where + ", tensor '" + e.getKey() + "'";
                holder.putTensor(e.getKey(), tensor(e.getValue(), aw), aw);
            }
            List<Object> graphs = list(b.get("graphs"), where + ".graphs");
            if (graphs.isEmpty()) {
                throw new SavedModelException(where, "has no graph");
            }
            List<GraphModule.Specialization> specs = new ArrayList<>();
            for (int i = 0; i < graphs.size(); i++) {
                specs.add(specialization(map(graphs.get(i), where), where + ", graph " + i));
            }
            GraphModule restored;
            try {
                restored = GraphModule.restored(source, holder, specs)
                        .atPath(b.get("path") instanceof String p ? p : "");
            } catch (GraphException e) {
                throw new SavedModelException(where, "graph is invalid: " + e.getMessage(), e);
            }
            LoadCheck.dryRun(restored, where);
            return restored;
        }

        GraphModule.Specialization specialization(Map<String, Object> g, String where) {
            List<InputSignature.Entry> sig = new ArrayList<>();
            List<Object> sigJson = list(g.get("signature"), where + ".signature");
            for (int i = 0; i < sigJson.size(); i++) {
                String sw = where + ".signature[" + i + "]";
                Map<String, Object> e = map(sigJson.get(i), sw);
                String kind = string(e, "kind", sw);
                sig.add(switch (kind) {
                    case "tensor" -> new InputSignature.TensorEntry(dtype(string(e, "dtype", sw), sw), integer(e, "rank", sw),
                            bool(e, "quantized", sw));
                    case "null" -> new InputSignature.NullEntry();
                    case "array" -> new InputSignature.ArrayEntry(integer(e, "length", sw));
                    case "constant" -> new InputSignature.ConstantEntry(Values.decode(e.get("value"), null, sw));
                    default -> throw new SavedModelException(sw, "unknown signature kind '" + kind + "'");
                });
            }
            List<Guard> guards = new ArrayList<>();
            for (Object o : list(g.get("guards"), where + ".guards")) {
                List<Object> x = list(o, where + ".guards");
                if (x.size() != 3 || !(x.get(0) instanceof Integer a) || !(x.get(1) instanceof Integer d)
                        || !(x.get(2) instanceof Integer s)) {
                    throw new SavedModelException(where + ".guards", "a guard is [input, dim, size], got " + x);
                }
                guards.add(new Guard(a, d, s));
            }
            Map<String, Tensor> constants = new LinkedHashMap<>();
            map(g.get("constants"), where + ".constants").forEach((k, ref) ->
                    constants.put(k, tensor(ref, where + ", constant '" + k + "'")));
            Graph graph = new Graph();
            Map<String, Node> byName = new HashMap<>();
            List<Object> nodes = list(g.get("nodes"), where + ".nodes");
            for (int i = 0; i < nodes.size(); i++) {
                Map<String, Object> n = map(nodes.get(i), where + ".nodes[" + i + "]");
                String name = string(n, "name", where + ".nodes[" + i + "]");
                String nw = where + ", node '" + name + "'";
                String kind = string(n, "kind", nw);
                Object argsJson = n.get("args");
                Object decoded = Values.decode(argsJson == null ? List.of() : argsJson, ref -> {
                    Node in = byName.get(ref);
                    if (in == null) {
                        throw new SavedModelException(nw, "uses node '" + ref + "', which is not defined before it");
                    }
                    return in;
                }, nw + ".args");
                if (!(decoded instanceof List<?> args)) {
                    throw new SavedModelException(nw, "args must be a list");
                }
                Target target = switch (kind) {
                    case "placeholder" -> new Target.Input(string(n, "target", nw));
                    case "get_attr" -> new Target.Attr(string(n, "target", nw));
                    case "call_module" -> {
                        String path = string(n, "target", nw);
                        if (path.isEmpty()) {
                            throw new SavedModelException(nw, "call_module needs a module path (\"\" is the block"
                                    + " itself)");
                        }
                        yield new Target.ModuleCall(path);
                    }
                    case "call_function" -> {
                        String opName = string(n, "target", nw);
                        Op op = GraphOps.byName(opName);
                        if (op == null) {
                            throw new SavedModelException(nw, "unknown operator '" + opName + "'");
                        }
                        LoadCheck.functionArgs(opName, args, nw);
                        yield new Target.Function(op);
                    }
                    case "output" -> new Target.Output();
                    default -> throw new SavedModelException(nw, "unknown node kind '" + kind + "'");
                };
                if (target.kind() == NodeKind.OUTPUT && i != nodes.size() - 1) {
                    throw new SavedModelException(nw, "the output node must be the last");
                }
                Node created;
                try {
                    created = graph.create(target, new ArrayList<>(args), name);
                } catch (GraphException e) {
                    throw new SavedModelException(nw, e.getMessage(), e);
                }
                if (!created.name().equals(name)) {
                    throw new SavedModelException(nw, "node name is a duplicate or not an identifier");
                }
                Object metaJson = n.get("meta");
                if (metaJson != null) {
                    map(metaJson, nw + ".meta").forEach((k, v) -> putMeta(created, k, Values.decode(v, null,
                            nw + ".meta." + k), nw));
                }
                byName.put(name, created);
            }
            if (graph.outputNode() == null) {
                throw new SavedModelException(where, "graph has no output node");
            }
            return GraphModule.Specialization.restored(graph, new InputSignature(sig), guards, constants);
        }

        ModuleRecord record(Map<String, Object> r, String where) {
            String type = string(r, "type", where);
            Object config = Values.decode(r.get("config"), null, where + ".config");
            if (!(config instanceof Map<?, ?> cm)) {
                throw new SavedModelException(where, "config must be a map");
            }
            LoadCheck.config(cast(cm), where);
            Map<String, Tensor> ts = new LinkedHashMap<>();
            map(r.get("tensors"), where + ".tensors").forEach((k, ref) -> ts.put(k, tensor(ref, where + ", tensor '" + k + "'")));
            ts.forEach((k, t) -> LoadCheck.finite(t, k, where + ", tensor '" + k + "'"));
            LoadCheck.layer(cast(cm), ts, where);
            if (type.equals("AdaptiveAvgPool2d") && cast(cm).get("args") instanceof List<?> a && !a.isEmpty()) {
                LoadCheck.adaptiveOutput(a.get(0), where);
            }
            Map<String, ModuleRecord> children = new LinkedHashMap<>();
            map(r.get("children"), where + ".children").forEach((k, c) ->
                    children.put(k, record(map(c, where + "." + k), where + "." + k)));
            return new ModuleRecord(type, cast(cm), ts, children);
        }

        Tensor tensor(Object refJson, String where) {
            Map<String, Object> ref = map(refJson, where);
            String key = string(ref, "tensor", where);
            Tensor raw = take(key, where);
            if (ref.containsKey("scale")) {
                Object s = Values.decode(ref.get("scale"), null, where);
                if (!(s instanceof Float scale) || !(ref.get("zero_point") instanceof Integer zp)) {
                    throw new SavedModelException(where, "per-tensor qparams need an f32 scale and an int zero_point");
                }
                return quantized(raw, qparams(() -> new QParams.PerTensor(scale, zp), where), where);
            }
            if (ref.containsKey("axis")) {
                if (!(ref.get("axis") instanceof Integer axis)) {
                    throw new SavedModelException(where, "axis must be an int");
                }
                Tensor scales = take(key + ".scales", where);
                Tensor zps = take(key + ".zero_points", where);
                if (scales.dtype() != DType.FLOAT32 || zps.dtype() != DType.INT32 || scales.dim() != 1
                        || zps.dim() != 1 || scales.size(0) != zps.size(0)) {
                    throw new SavedModelException(where, "per-channel scales must be float32 [C] and zero points"
                            + " int32 [C]");
                }
                return quantized(raw, qparams(() -> new QParams.PerChannel(scales.toFloatArray(), zps.toIntArray(),
                        axis), where), where);
            }
            return raw;
        }

        /** QParams refuse bad scales, zero points and axes with IllegalArgumentException: named here. */
        static QParams qparams(java.util.function.Supplier<QParams> make, String where) {
            try {
                return make.get();
            } catch (IllegalArgumentException e) {
                throw new SavedModelException(where, "invalid qparams: " + e.getMessage(), e);
            }
        }

        Tensor take(String key, String where) {
            Tensor t = tensors.get(key);
            if (t == null) {
                throw new SavedModelException(where, "tensor '" + key + "' is missing from the file");
            }
            if (used.add(key)) {
                LoadCheck.noNaN(t, key, where);
            }
            return t;
        }

        static Tensor quantized(Tensor raw, QParams q, String where) {
            if (raw.dtype() != DType.INT8 && raw.dtype() != DType.UINT8) {
                throw new SavedModelException(where, "a quantized tensor must be stored as int8 or uint8, got "
                        + raw.dtype());
            }
            try {
                return Tensor.quantized(raw.dtype(), raw.toByteArray(), raw.shape(), q);
            } catch (RuntimeException e) {
                throw new SavedModelException(where, "qparams do not fit the tensor: " + e.getMessage(), e);
            }
        }

        PartitionNode partitionNode(Map<String, Object> n, String where) {
            PartitionNode.Status status;
            try {
                status = PartitionNode.Status.valueOf(string(n, "status", where));
            } catch (IllegalArgumentException e) {
                throw new SavedModelException(where, "unknown status " + n.get("status"));
            }
            Map<String, Integer> ops = new LinkedHashMap<>();
            map(n.get("ops"), where + ".ops").forEach((k, v) -> {
                if (!(v instanceof Integer c)) {
                    throw new SavedModelException(where + ".ops", "count of " + k + " must be an int");
                }
                ops.put(k, c);
            });
            List<PartitionNode> children = new ArrayList<>();
            List<Object> cs = list(n.get("children"), where + ".children");
            for (int i = 0; i < cs.size(); i++) {
                children.add(partitionNode(map(cs.get(i), where), where + ".children[" + i + "]"));
            }
            return new PartitionNode(string(n, "path", where), string(n, "class", where), status,
                    string(n, "reason", where), string(n, "line", where), ops, children);
        }
    }

    /** The modules and tensors of a loaded block, at the paths its graphs name. */
    private static final class Holder extends Module {
        @Override
        protected Tensor forward(Tensor... inputs) {
            throw new UnsupportedOperationException("a loaded block's module holder is not callable");
        }

        void put(String path, Module m, String where) {
            int dot = path.lastIndexOf('.');
            Holder parent = dot < 0 ? this : descend(path.substring(0, dot), where);
            String name = path.substring(dot + 1);
            if (parent.children().containsKey(name)) {
                throw new SavedModelException(where, "module path '" + path + "' is given twice");
            }
            parent.registerModule(name, m);
        }

        void putTensor(String path, Tensor t, String where) {
            int dot = path.lastIndexOf('.');
            Holder parent = dot < 0 ? this : descend(path.substring(0, dot), where);
            parent.registerBuffer(path.substring(dot + 1), t);
        }

        private Holder descend(String path, String where) {
            Holder h = this;
            for (String part : path.split("\\.")) {
                Module c = h.children().get(part);
                if (c == null) {
                    c = h.registerModule(part, new Holder());
                }
                if (!(c instanceof Holder next)) {
                    throw new SavedModelException(where, "'" + part + "' on path '" + path + "' is a saved module,"
                            + " not a container");
                }
                h = next;
            }
            return h;
        }
    }

    // ---------------------------------------------------------------- JSON access with locations

    @SuppressWarnings("unchecked")
    static Map<String, Object> cast(Map<?, ?> m) {
        return (Map<String, Object>) m;
    }

    static Map<String, Object> map(Object o, String where) {
        if (o instanceof Map<?, ?> m) {
            return cast(m);
        }
        throw new SavedModelException(where, "expected an object, got " + (o == null ? "nothing" : o));
    }

    @SuppressWarnings("unchecked")
    static List<Object> list(Object o, String where) {
        if (o instanceof List<?> l) {
            return (List<Object>) l;
        }
        throw new SavedModelException(where, "expected a list, got " + (o == null ? "nothing" : o));
    }

    static String string(Map<String, Object> m, String key, String where) {
        if (m.get(key) instanceof String s) {
            return s;
        }
        throw new SavedModelException(where, "'" + key + "' must be a string, got " + m.get(key));
    }

    static int integer(Map<String, Object> m, String key, String where) {
        if (m.get(key) instanceof Integer i) {
            return i;
        }
        throw new SavedModelException(where, "'" + key + "' must be an int, got " + m.get(key));
    }

    static boolean bool(Map<String, Object> m, String key, String where) {
        if (m.get(key) instanceof Boolean b) {
            return b;
        }
        throw new SavedModelException(where, "'" + key + "' must be a boolean, got " + m.get(key));
    }

    static DType dtype(String name, String where) {
        try {
            return DType.valueOf(name);
        } catch (IllegalArgumentException e) {
            throw new SavedModelException(where, "unknown dtype " + name);
        }
    }

    /** A saved annotation back on its node: the name must be one of {@link Meta}'s keys and the value its type. */
    private static void putMeta(Node node, String name, Object value, String where) {
        Meta.Key<?> key = Meta.byName(name);
        if (key == null) {
            throw new SavedModelException(where, "unknown node annotation '" + name + "' (known: "
                    + Meta.all().keySet() + ")");
        }
        if (!key.type().isInstance(value)) {
            throw new SavedModelException(where, "annotation '" + name + "' must be a " + key.type().getSimpleName()
                    + ", got " + value);
        }
        setMeta(node, key, value);
    }

    private static <T> void setMeta(Node node, Meta.Key<T> key, Object value) {
        node.putMeta(key, key.cast(value));
    }
}
