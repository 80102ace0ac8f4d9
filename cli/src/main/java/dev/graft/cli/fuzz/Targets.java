package dev.graft.cli.fuzz;

import dev.graft.GraftFile;
import dev.graft.engine.Init;
import dev.graft.engine.Module;
import dev.graft.engine.io.Json;
import dev.graft.engine.io.Safetensors;
import dev.graft.engine.nn.Linear;
import dev.graft.engine.quant.passes.StaticQuantizer;
import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.Partitioner;
import dev.graft.formats.data.ArffDataset;
import dev.graft.formats.data.ArffReader;
import dev.graft.formats.data.IdxReader;
import dev.graft.formats.image.Images;
import dev.graft.formats.onnx.OnnxAttribute;
import dev.graft.formats.onnx.OnnxGraph;
import dev.graft.formats.onnx.OnnxModel;
import dev.graft.formats.onnx.OnnxNode;
import dev.graft.formats.onnx.OnnxOpset;
import dev.graft.formats.onnx.OnnxReader;
import dev.graft.formats.onnx.OnnxTensor;
import dev.graft.formats.onnx.OnnxWriter;
import dev.graft.formats.text.BertTokenizer;
import dev.graft.formats.tfjs.TfjsGraph;
import dev.graft.formats.tfjs.TfjsGraphModule;
import dev.graft.models.BundledAssets;
import dev.graft.models.bert.BertConfig;
import dev.graft.models.bert.BertModel;
import dev.graft.models.bert.MiniLm;
import dev.graft.models.mnist.MnistCnn;
import dev.graft.ops.DType;
import dev.graft.ops.Tensor;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import java.util.zip.GZIPInputStream;
import javax.imageio.ImageIO;

/**
 * The readers under fuzz, each with its seeds (real files: {@code ../shared/data} when present, the project's bundled
 * assets, and models the project saves itself) and its load path: exactly what a command does with a user's file,
 * including the first call where loading alone would not touch the sizes a file sets.
 */
public final class Targets {
    /** The reader names {@code ./graft fuzz} takes. */
    public static final List<String> NAMES = List.of("idx", "arff", "image", "tokenizer", "safetensors", "onnx",
            "tfjs", "graft");

    private Targets() {
    }

    /**
     * One seed: a name and its bytes; {@code json} when the bytes are a JSON document the fuzzer may edit;
     * {@code gunzipped} when they are gzip whose content the fuzzer may edit and compress again; {@code weight}
     * how often it is picked relative to the others (decompression bombs are slow to refuse, so they are rarer).
     */
    public record Seed(String name, byte[] bytes, Object json, byte[] gunzipped, int weight) {
        Seed(String name, byte[] bytes, Object json) {
            this(name, bytes, json, null, 10);
        }

        static Seed gzip(String name, byte[] content) {
            return new Seed(name, Mutator.gzip(content), null, content, 10);
        }

        static Seed bomb(byte[] head) {
            return new Seed("gzip bomb (64 MiB of zeros)", Mutator.bomb(head, 64L << 20), null, null, 1);
        }
    }

    /** A reader under fuzz. */
    public interface Target {
        String name();

        List<Seed> seeds();

        /** A mutated input made from a seed (byte mutations unless the target knows better). */
        default Mutator.Mutant mutate(Seed seed, Random r) {
            if (seed.json() != null && r.nextInt(3) > 0) {
                return Mutator.json(seed.json(), r);
            }
            if (seed.gunzipped() != null && r.nextBoolean()) {
                Mutator.Mutant inner = Mutator.bytes(seed.gunzipped(), r);
                return new Mutator.Mutant(Mutator.gzip(inner.bytes()), "inside the gzip: " + inner.description());
            }
            return Mutator.bytes(seed.bytes(), r);
        }

        /** Loads {@code input} the way a command would; throws whatever the reader throws. */
        void load(byte[] input) throws Exception;
    }

    public static Target create(String name) throws IOException {
        return switch (name) {
            case "idx" -> idx();
            case "arff" -> arff();
            case "image" -> image();
            case "tokenizer" -> tokenizer();
            case "safetensors" -> safetensors();
            case "onnx" -> onnx();
            case "tfjs" -> tfjs();
            case "graft" -> graft();
            default -> throw new IllegalArgumentException("no reader named " + name + " (one of " + NAMES + ")");
        };
    }

    private static Target target(String name, List<Seed> seeds, Loader load) {
        return new Target() {
            public String name() {
                return name;
            }

            public List<Seed> seeds() {
                return seeds;
            }

            public void load(byte[] input) throws Exception {
                load.load(input);
            }
        };
    }

    @FunctionalInterface
    private interface Loader {
        void load(byte[] input) throws Exception;
    }

    private static final Path INPUT = Path.of("fuzz-input");

    // ---------------------------------------------------------------- IDX (MNIST)

    static Target idx() throws IOException {
        List<Seed> seeds = new ArrayList<>();
        Path mnist = shared("mnist");
        if (mnist != null) {
            byte[] labels = gunzip(Files.readAllBytes(mnist.resolve("t10k-labels-idx1-ubyte.gz")));
            byte[] images = gunzip(Files.readAllBytes(mnist.resolve("t10k-images-idx3-ubyte.gz")));
            byte[] few = java.util.Arrays.copyOf(images, 16 + 8 * 28 * 28);   // the first 8 images
            few[7] = 8;                                                          // count 8 (big-endian, low byte)
            few[4] = few[5] = few[6] = 0;
            seeds.add(new Seed("t10k-images (first 8)", few, null));
            seeds.add(Seed.gzip("t10k-images (first 8).gz", few));
            seeds.add(Seed.gzip("t10k-labels.gz", labels));
        } else {
            seeds.add(new Seed("generated idx (no ../shared)", generatedIdx(), null));
        }
        // A bomb: a header declaring 2^20 images, then 64 MiB of zeros in a few kilobytes of gzip.
        byte[] header = {0, 0, 8, 3, 0, 0x10, 0, 0, 0, 0, 0, 28, 0, 0, 0, 28};
        seeds.add(Seed.bomb(header));
        return target("idx", seeds, in -> IdxReader.read(new ByteArrayInputStream(in), INPUT, Integer.MAX_VALUE));
    }

    private static byte[] generatedIdx() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {0, 0, 8, 3, 0, 0, 0, 4, 0, 0, 0, 28, 0, 0, 0, 28});
        byte[] pixels = new byte[4 * 28 * 28];
        new Random(1).nextBytes(pixels);
        out.writeBytes(pixels);
        return out.toByteArray();
    }

    // ---------------------------------------------------------------- ARFF (Reuters)

    static Target arff() throws IOException {
        List<Seed> seeds = new ArrayList<>();
        Path reuters = shared("reuters");
        String text;
        if (reuters != null) {
            String all = new String(gunzip(Files.readAllBytes(reuters.resolve("ReutersGrain-test.arff.gz"))),
                    StandardCharsets.UTF_8);
            int data = all.indexOf("@data");
            int end = data;
            for (int i = 0; i < 12 && end >= 0; i++) {     // the header and the first dozen documents
                end = all.indexOf('\n', end + 1);
            }
            text = all.substring(0, end < 0 ? all.length() : end + 1);
        } else {
            text = "@relation 'Reuters-generated'\n@attribute Text string\n@attribute class-att {0,1}\n@data\n"
                    + "'wheat exports rose',1\n'the bank left rates unchanged',0\n";
        }
        byte[] plain = text.getBytes(StandardCharsets.UTF_8);
        seeds.add(new Seed("ReutersGrain-test (first documents)", plain, null));
        seeds.add(Seed.gzip("ReutersGrain-test (first documents).gz", plain));
        seeds.add(Seed.bomb(plain));
        return target("arff", seeds, in -> {
            ArffDataset d = ArffReader.read(in, INPUT);
            // What the Reuters workload reads: the text and the class labels.
            d.strings("Text");
            d.nominalIndices(d.classAttribute());
        });
    }

    // ---------------------------------------------------------------- images

    static Target image() throws IOException {
        BufferedImage photo;
        try (InputStream in = BundledAssets.open("dog.jpg")) {
            photo = ImageIO.read(in);
        }
        BufferedImage small = new BufferedImage(48, 36, BufferedImage.TYPE_INT_RGB);
        small.getGraphics().drawImage(photo, 0, 0, 48, 36, null);
        List<Seed> seeds = new ArrayList<>();
        for (String format : Images.FORMATS) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ImageIO.write(small, format, out);
            seeds.add(new Seed("dog.jpg at 48x36 as " + format, out.toByteArray(), null));
        }
        return target("image", seeds, in -> Images.toTensor(Images.read(new ByteArrayInputStream(in), "fuzz-input")));
    }

    // ---------------------------------------------------------------- tokenizer

    static Target tokenizer() throws IOException {
        byte[] real = classpath(MiniLm.TOKENIZER_RESOURCE);
        @SuppressWarnings("unchecked")
        Map<String, Object> root = (Map<String, Object>) Json.parse(real);
        // The real file with its vocabulary cut to the first 2,000 entries (the special tokens come first).
        @SuppressWarnings("unchecked")
        Map<String, Object> model = (Map<String, Object>) root.get("model");
        @SuppressWarnings("unchecked")
        Map<String, Object> vocab = (Map<String, Object>) model.get("vocab");
        Map<String, Object> cut = new LinkedHashMap<>();
        vocab.entrySet().stream().filter(e -> ((Number) e.getValue()).intValue() < 2000)
                .forEach(e -> cut.put(e.getKey(), e.getValue()));
        model.put("vocab", cut);
        byte[] bytes = Json.toBytes(root);
        List<String> sentences = List.of("The central bank left interest rates unchanged.", "Corn prices fell.");
        return target("tokenizer", List.of(new Seed("all-minilm-l6-v2 tokenizer (vocabulary cut to 2000)", bytes,
                Json.parse(bytes))), in -> BertTokenizer.fromJson(in, INPUT).encodeBatch(sentences));
    }

    // ---------------------------------------------------------------- safetensors

    static Target safetensors() throws IOException {
        List<Seed> seeds = new ArrayList<>();
        for (String asset : List.of("reuters-grain-head.safetensors", "mnist-cnn.safetensors")) {
            try (InputStream in = BundledAssets.open(asset)) {
                seeds.add(new Seed(asset, in.readAllBytes(), null));
            }
        }
        return target("safetensors", seeds, in -> {
            Map<String, Tensor> state = Safetensors.parse(in, INPUT).tensors();
            Module m = state.containsKey("conv1.weight") ? new MnistCnn(0.9f) : new Linear(384, 2);
            Safetensors.loadInto(m, state, INPUT);
        });
    }

    // ---------------------------------------------------------------- ONNX

    static final BertConfig SMALL_BERT = new BertConfig(40, 16, 2, 4, 24, 16, 2, 1e-12f, 0.1f, 0.1f, 2);

    static Target onnx() {
        Init.manualSeed(5);
        BertModel bert = new BertModel(SMALL_BERT);
        List<Seed> seeds = new ArrayList<>();
        seeds.add(new Seed("small BERT exported as PyTorch exports all-MiniLM-L6-v2",
                OnnxWriter.write(exportLikePyTorch(bert)), null));
        seeds.add(new Seed("Conv with pads and strides", OnnxWriter.write(OnnxWriter.singleNodeModel("Conv", List.of(
                OnnxAttribute.ofInts("pads", 1, 1, 1, 1), OnnxAttribute.ofInts("strides", 2, 2),
                OnnxAttribute.ofInts("dilations", 1, 1), OnnxAttribute.ofInts("kernel_shape", 3, 3)),
                List.of(dev.graft.formats.onnx.OnnxValueInfo.tensor("x", dev.graft.formats.onnx.OnnxDataType.FLOAT,
                        1, 2, 8, 8)),
                List.of(OnnxTensor.ofFloats("w", new float[4 * 2 * 9], 4, 2, 3, 3)), List.of("x", "w"),
                List.of(dev.graft.formats.onnx.OnnxValueInfo.tensor("y", dev.graft.formats.onnx.OnnxDataType.FLOAT,
                        1, 4, 4, 4)), 13)), null));
        Tensor ids = Tensor.ofLongs(new long[] {1, 5, 9, 2, 1, 7, 2, 0}, 2, 4);
        Tensor mask = Tensor.ofLongs(new long[] {1, 1, 1, 1, 1, 1, 1, 0}, 2, 4);
        return target("onnx", seeds, in -> {
            OnnxModel model = OnnxReader.read(java.nio.ByteBuffer.wrap(in), INPUT);
            if (model.graph().initializers().stream().anyMatch(t -> t.name().startsWith("embeddings."))) {
                MiniLm.load(model, INPUT).lastHiddenState(ids, mask, null);
            } else {
                dev.graft.formats.onnx.OnnxStateDict.fromGraph(model.graph(), INPUT);
            }
        });
    }

    /** {@code model}'s weights laid out as the PyTorch exporter writes all-MiniLM-L6-v2 (named norms and biases,
     *  anonymous transposed MatMul weights named by their MatMul node), with the two constants MiniLM's loader reads. */
    static OnnxModel exportLikePyTorch(BertModel model) {
        Map<String, Module> modules = model.namedModules();
        List<OnnxTensor> inits = new ArrayList<>();
        List<OnnxNode> nodes = new ArrayList<>();
        nodes.add(constant("/encoder/layer.0/attention/self/Constant_12_output_0", 2f));
        nodes.add(new OnnxNode("/encoder/layer.0/attention/self/Div", "Div", "",
                List.of("/encoder/layer.0/attention/self/MatMul_output_0",
                        "/encoder/layer.0/attention/self/Constant_12_output_0"), List.of("scores"), Map.of()));
        nodes.add(constant("/embeddings/LayerNorm/Constant_1_output_0", 1e-12f));
        nodes.add(new OnnxNode("/embeddings/LayerNorm/Add", "Add", "",
                List.of("/embeddings/LayerNorm/ReduceMean_1_output_0", "/embeddings/LayerNorm/Constant_1_output_0"),
                List.of("var_eps"), Map.of()));
        int anonymous = 700;
        for (Map.Entry<String, Tensor> e : model.stateDict().entrySet()) {
            String key = e.getKey();
            Tensor t = e.getValue();
            String owner = key.substring(0, key.lastIndexOf('.'));
            if (key.endsWith(".weight") && modules.get(owner) instanceof Linear) {
                String name = "onnx::MatMul_" + anonymous++;
                inits.add(OnnxTensor.ofFloats(name, t.t().contiguous().toFloatArray(), t.size(1), t.size(0)));
                String path = "/" + owner.replace('.', '/');
                nodes.add(new OnnxNode(path + "/MatMul", "MatMul", "", List.of(path + "_in", name),
                        List.of(path + "/MatMul_output_0"), Map.of()));
            } else if (t.dtype() == DType.INT64) {
                inits.add(OnnxTensor.ofLongs(key, t.toLongArray(), longs(t.shape())));
            } else {
                inits.add(OnnxTensor.ofFloats(key, t.toFloatArray(), longs(t.shape())));
            }
        }
        OnnxGraph graph = new OnnxGraph("torch_jit", nodes, inits, List.of(), List.of(), List.of());
        return new OnnxModel(6, "pytorch", "2.0.1", "", 0, "", List.of(new OnnxOpset("", 11)), graph);
    }

    private static OnnxNode constant(String output, float value) {
        return new OnnxNode(output.replace("_output_0", ""), "Constant", "", List.of(), List.of(output),
                Map.of("value", OnnxAttribute.ofTensor("value", OnnxTensor.ofFloats("", new float[] {value}))));
    }

    private static long[] longs(int[] shape) {
        long[] out = new long[shape.length];
        for (int i = 0; i < shape.length; i++) {
            out[i] = shape[i];
        }
        return out;
    }

    // ---------------------------------------------------------------- TensorFlow.js (NanoDet)

    static Target tfjs() throws IOException {
        byte[] json;
        byte[] shard;
        try (InputStream a = BundledAssets.open("nanodet.json"); InputStream b = BundledAssets.open("nanodet.bin")) {
            json = a.readAllBytes();
            shard = b.readAllBytes();
        }
        Map<String, byte[]> shards = new java.util.HashMap<>();
        shards.put("nanodet.bin", shard);
        byte[] head = firstOps(json, shard, 30, shards);
        List<Seed> seeds = List.of(
                new Seed("nanodet.json cut to its first 30 ops (with their weights, nanodet-head.bin)", head,
                        Json.parse(head), null, 20),
                new Seed("nanodet.json (NanoDet-g, with its real nanodet.bin)", json, Json.parse(json), null, 1));
        return new Target() {
            public String name() {
                return "tfjs";
            }

            public List<Seed> seeds() {
                return seeds;
            }

            public void load(byte[] input) {
                // The manifest under fuzz; the shards are the real ones (a manifest declaring more weights than
                // they hold, or listing one many times, is part of the fuzz).
                TfjsGraph g = TfjsGraph.read(new ByteArrayInputStream(input), INPUT.resolve("model.json"), p -> {
                    byte[] bytes = shards.get(p);
                    if (bytes == null) {
                        throw new java.nio.file.NoSuchFileException(p);
                    }
                    return new ByteArrayInputStream(bytes);
                });
                new TfjsGraphModule(g);
            }
        };
    }

    /**
     * The real model cut to its placeholder and first {@code ops} operations (with the constants they read), their
     * weights copied into a shard of their own (put in {@code shards} as nanodet-head.bin); the outputs are the
     * graph's sinks.
     */
    @SuppressWarnings("unchecked")
    private static byte[] firstOps(byte[] json, byte[] shard, int ops, Map<String, byte[]> shards) {
        Map<String, Object> root = (Map<String, Object>) Json.parse(json);
        Map<String, Object> topology = (Map<String, Object>) root.get("modelTopology");
        List<Object> nodes = (List<Object>) topology.get("node");
        Map<String, Map<String, Object>> byName = new LinkedHashMap<>();
        for (Object o : nodes) {
            Map<String, Object> n = (Map<String, Object>) o;
            byName.put((String) n.get("name"), n);
        }
        java.util.Set<String> keep = new java.util.LinkedHashSet<>();
        int taken = 0;
        for (Object o : nodes) {
            Map<String, Object> n = (Map<String, Object>) o;
            if (n.get("op").equals("Const") || taken >= ops) {
                continue;
            }
            List<Object> inputs = (List<Object>) n.getOrDefault("input", List.of());
            List<String> bases = inputs.stream().map(i -> ((String) i).replaceFirst("^\\^", "")
                    .replaceFirst(":\\d+$", "")).toList();
            boolean ready = bases.stream().allMatch(b -> keep.contains(b)
                    || (byName.containsKey(b) && byName.get(b).get("op").equals("Const")));
            if (ready) {
                keep.addAll(bases);
                keep.add((String) n.get("name"));
                taken++;
            }
        }
        topology.put("node", nodes.stream().filter(o -> keep.contains(((Map<String, Object>) o).get("name")))
                .toList());
        ((Map<String, Object>) root.get("signature")).remove("outputs");
        Map<String, Object> group = (Map<String, Object>) ((List<Object>) root.get("weightsManifest")).get(0);
        List<Object> kept = new ArrayList<>();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        long offset = 0;
        for (Object o : (List<Object>) group.get("weights")) {
            Map<String, Object> w = (Map<String, Object>) o;
            long n = 1;
            for (Object d : (List<Object>) w.get("shape")) {
                n *= ((Number) d).longValue();
            }
            Map<String, Object> quant = (Map<String, Object>) w.get("quantization");
            String stored = quant == null ? (String) w.get("dtype") : (String) quant.get("dtype");
            int width = switch (stored) {
                case "float16", "uint16" -> 2;
                case "uint8", "bool" -> 1;
                default -> 4;
            };
            if (keep.contains(w.get("name"))) {
                kept.add(w);
                bytes.write(shard, (int) offset, (int) (n * width));
            }
            offset += n * width;
        }
        group.put("weights", kept);
        group.put("paths", List.of("nanodet-head.bin"));
        shards.put("nanodet-head.bin", bytes.toByteArray());
        return Json.toBytes(root);
    }

    // ---------------------------------------------------------------- .graft

    /** A saved model under fuzz: its file, what it holds, and the inputs a first call gets. */
    private record SavedSeed(Seed seed, GraftFile.Contents contents, Object[] inputs) {
    }

    static Target graft() {
        List<SavedSeed> saved = new ArrayList<>();
        // The MNIST CNN, static INT8: quantized layers with their qparams, graphs, pooling arguments.
        Init.manualSeed(3);
        MnistCnn cnn = new MnistCnn(0.999f);
        cnn.eval();
        Object[] image = {Tensor.rand(new Random(4), 0f, 1f, 2, 1, 28, 28)};
        Partition partition = Partitioner.partition(cnn, image);
        StaticQuantizer.Prepared p = StaticQuantizer.prepare(partition, StaticQuantizer.defaultMapping());
        StaticQuantizer.calibrate(p, List.<Object[]>of(new Object[] {Tensor.rand(new Random(5), 0f, 1f, 4, 1, 28,
                28)}), (a, b, c) -> { });
        StaticQuantizer.convert(p);
        saved.add(savedSeed("MNIST CNN, static INT8, saved by GraftFile.write", saved(partition, "static"), image, 10));
        // The same CNN in FP32: the standard layers' sizes (channels, features, kernels) and their state.
        Init.manualSeed(3);
        MnistCnn fp32 = new MnistCnn(0.999f);
        fp32.eval();
        saved.add(savedSeed("MNIST CNN, FP32, saved by GraftFile.write", saved(Partitioner.partition(fp32, image),
                "fp32"), image, 5));
        // A small BERT encoder, dynamic INT8: a glue model whose configuration sets every size it builds.
        Init.manualSeed(6);
        BertModel bert = new BertModel(SMALL_BERT);
        bert.eval();
        Object[] tokens = {Tensor.ofLongs(new long[] {1, 5, 9, 2, 1, 7, 2, 0}, 2, 4),
            Tensor.ofLongs(new long[] {1, 1, 1, 1, 1, 1, 1, 0}, 2, 4)};
        dev.graft.Graft.Quantized q = dev.graft.Graft.quantize(bert, tokens, dev.graft.Graft.Config.dynamic());
        saved.add(savedSeed("small BERT encoder, dynamic INT8, saved by GraftFile.write", saved(q.partition(),
                "dynamic"), tokens, 5));
        List<Seed> seeds = saved.stream().map(SavedSeed::seed).toList();
        return new Target() {
            public String name() {
                return "graft";
            }

            public List<Seed> seeds() {
                return seeds;
            }

            /** Byte damage (refused by the checksums), or a manifest or tensor edit saved with valid checksums. */
            public Mutator.Mutant mutate(Seed s, Random r) {
                GraftFile.Contents contents = saved.get(seeds.indexOf(s)).contents();
                int kind = r.nextInt(4);
                if (kind == 0) {
                    return Mutator.bytes(s.bytes(), r);
                }
                StringBuilder what = new StringBuilder();
                @SuppressWarnings("unchecked")
                Map<String, Object> manifest = (Map<String, Object>) Mutator.deepCopy(contents.manifest());
                Map<String, Tensor> tensors = new LinkedHashMap<>(contents.tensors());
                if (kind == 3) {
                    editTensor(tensors, r, what);
                } else {
                    Object edited = Mutator.editJson(manifest, r, what);
                    if (!(edited instanceof Map<?, ?>)) {
                        return new Mutator.Mutant(Json.toBytes(edited), "manifest " + what);
                    }
                }
                return new Mutator.Mutant(rewrite(manifest, tensors), (kind == 3 ? "tensor " : "manifest ") + what
                        + " (checksums valid)");
            }

            /** Reads the file, builds the model (with the load-time checks) and calls it once, as eval does. */
            public void load(byte[] in) {
                GraftFile.Contents c = GraftFile.readContents(in, INPUT);
                Object[] inputs = c.manifest().get("model") instanceof Map<?, ?> m
                        && String.valueOf(m.get("class")).endsWith("BertModel") ? saved.get(2).inputs()
                        : saved.get(0).inputs();
                GraftFile.read(INPUT, c).model().callAny(inputs);
            }
        };
    }

    private static SavedSeed savedSeed(String name, byte[] file, Object[] inputs, int weight) {
        GraftFile.Contents contents = GraftFile.readContents(file, INPUT);
        return new SavedSeed(new Seed(name, file, contents.manifest(), null, weight), contents, inputs);
    }

    private static byte[] saved(Partition partition, String approach) {
        try {
            Path tmp = Files.createTempFile("graft-fuzz-seed", ".graft");
            try {
                GraftFile.write(tmp, partition, Map.of("approach", approach));
                return Files.readAllBytes(tmp);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static byte[] rewrite(Map<String, Object> manifest, Map<String, Tensor> tensors) {
        return GraftFile.toBytes(INPUT, manifest, tensors);
    }

    /** Replaces one tensor by a wrong one: negative or zero scales, another shape or dtype, empty, NaN. */
    private static void editTensor(Map<String, Tensor> tensors, Random r, StringBuilder what) {
        List<String> names = new ArrayList<>(tensors.keySet());
        String name = names.get(r.nextInt(names.size()));
        Tensor t = tensors.get(name);
        Function<Tensor, Tensor> edit;
        String how;
        switch (r.nextInt(6)) {
            case 0 -> {
                how = "negated";
                edit = x -> x.dtype() == DType.FLOAT32 ? x.neg() : Tensor.ofInts(new int[x.numel()], x.shape());
            }
            case 1 -> {
                how = "zeros";
                edit = x -> x.dtype() == DType.FLOAT32 ? Tensor.zeros(x.shape()) : x;
            }
            case 2 -> {
                how = "flattened";
                edit = x -> x.reshape(x.numel());
            }
            case 3 -> {
                how = "empty";
                edit = x -> Tensor.zeros(0);
            }
            case 4 -> {
                how = "NaN";
                edit = x -> x.dtype() == DType.FLOAT32 ? Tensor.full(Float.NaN, x.shape()) : x;
            }
            default -> {
                how = "as int32";
                edit = x -> Tensor.ofInts(new int[x.numel()], x.shape());
            }
        }
        tensors.put(name, edit.apply(t));
        what.append(name).append(" ").append(how);
    }

    // ---------------------------------------------------------------- files

    /** {@code <shared>/data/<name>} when a shared folder holds it, else null (the bundled seeds are used then). */
    static Path shared(String name) {
        for (String s : new String[] {System.getProperty("graft.shared.dir"), System.getenv("GRAFT_SHARED_DIR"),
                "../shared", "../../shared", "/work/shared"}) {
            if (s != null && !s.isBlank() && Files.isDirectory(Path.of(s, "data", name))) {
                return Path.of(s, "data", name);
            }
        }
        return null;
    }

    private static byte[] gunzip(byte[] gz) throws IOException {
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(gz))) {
            return in.readAllBytes();
        }
    }

    private static byte[] classpath(String name) throws IOException {
        for (ClassLoader cl : new ClassLoader[] {Thread.currentThread().getContextClassLoader(),
            MiniLm.class.getClassLoader(), ClassLoader.getSystemClassLoader()}) {
            if (cl != null) {
                try (InputStream in = cl.getResourceAsStream(name)) {
                    if (in != null) {
                        return in.readAllBytes();
                    }
                }
            }
        }
        throw new IOException("not on the class path: " + name);
    }
}
