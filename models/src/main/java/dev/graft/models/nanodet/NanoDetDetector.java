package dev.graft.models.nanodet;

import dev.graft.engine.Module;
import dev.graft.engine.ModuleException;
import dev.graft.engine.Submodule;
import dev.graft.ops.F;
import dev.graft.ops.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * NanoDet, a one-stage anchor-free detector (GFL head), as an imperative module:
 * <ol>
 *   <li>{@code preprocess}: normalization of the letterboxed [1,3,S,S] RGB 0..255 image (traceable);</li>
 *   <li>{@code backbone}: backbone, neck and head (for example the imported TensorFlow.js graph), giving per
 *       stride {@code s} in {@link Options#strides()} class scores [1,N,C] (already through a sigmoid) and box
 *       distributions [1,N,4*(regMax+1)], N = (S/s)^2 grid cells in row-major (y, x) order;</li>
 *   <li>eager post-processing: the distance integral (softmax over the bins, expectation, times the stride, as
 *       Graft ops), then the data-dependent part: score threshold, top-k per level, class-wise NMS, mapping to
 *       photo coordinates.</li>
 * </ol>
 * {@link #detect} (or {@link #callAny}) takes the image tensor and the photo's width and height and returns a
 * {@code List<Detection>} sorted by score, boxes in photo pixels.
 */
public final class NanoDetDetector extends Module implements dev.graft.engine.save.Savable {

    /**
     * Post-processing settings.
     *
     * @param scoreThreshold minimum class score of a detection
     * @param iouThreshold   NMS overlap above which the lower-scored box of the same class is dropped
     * @param maxDetections  cap on the returned list
     * @param preNmsTopK     locations kept per level (by best class score) before NMS
     * @param inputSize      network input side S
     * @param strides        the head's strides, one output pair each
     * @param regMax         the distribution's largest bin (bins 0..regMax)
     */
    public record Options(float scoreThreshold, float iouThreshold, int maxDetections, int preNmsTopK, int inputSize,
                          int[] strides, int regMax) {
        public Options {
            strides = strides.clone();
            if (!(scoreThreshold >= 0f) || !(iouThreshold > 0f) || maxDetections < 1 || preNmsTopK < 1
                    || inputSize < 1 || strides.length == 0 || regMax < 1) {
                throw new IllegalArgumentException("invalid NanoDet options: " + this);
            }
        }

        /** NanoDet-m at 416: threshold 0.35 (its demo), NMS IoU 0.6, 100 boxes, top 1000, strides 8/16/32, 10. */
        public static Options defaults() {
            return new Options(0.35f, 0.6f, 100, 1000, 416, new int[] {8, 16, 32}, 10);
        }

        public Options withScoreThreshold(float threshold) {
            return new Options(threshold, iouThreshold, maxDetections, preNmsTopK, inputSize, strides, regMax);
        }

        @Override
        public int[] strides() {
            return strides.clone();
        }

        @Override
        public String toString() {
            return "Options[score>" + scoreThreshold + ", iou " + iouThreshold + ", max " + maxDetections + ", top "
                    + preNmsTopK + ", input " + inputSize + ", strides " + Arrays.toString(strides) + ", regMax "
                    + regMax + "]";
        }
    }

    private final Submodule preprocess;
    private final Submodule backbone;
    private final List<String> labels;
    private final Options options;
    private final Tensor project;

    /**
     * @param preprocess normalization (for example {@link NanoDetPreprocess})
     * @param backbone   returns a {@code Tensor[]} holding the class and box outputs of every stride, any order
     * @param labels     class names, index = class id
     */
    public NanoDetDetector(Module preprocess, Module backbone, List<String> labels, Options options) {
        this.labels = List.copyOf(labels);
        this.options = Objects.requireNonNull(options, "options");
        this.preprocess = submodule("preprocess", preprocess);
        this.backbone = submodule("backbone", backbone);
        float[] bins = new float[options.regMax() + 1];
        for (int i = 0; i < bins.length; i++) {
            bins[i] = i;
        }
        this.project = registerBuffer("project", Tensor.of(bins, bins.length));
    }

    @Override
    public java.util.Map<String, Object> saveConfig() {
        java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("labels", labels);
        m.put("score_threshold", options.scoreThreshold());
        m.put("iou_threshold", options.iouThreshold());
        m.put("max_detections", options.maxDetections());
        m.put("pre_nms_top_k", options.preNmsTopK());
        m.put("input_size", options.inputSize());
        m.put("strides", options.strides());
        m.put("reg_max", options.regMax());
        return m;
    }

    /**
     * Rebuilds the detector {@link #saveConfig()} describes. Preprocessing and the backbone are placeholders: a
     * saved detector carries both as traced blocks, which the loader grafts in.
     */
    public static NanoDetDetector fromConfig(dev.graft.engine.save.SavedConfig c) {
        Options o = new Options(c.getFloat("score_threshold"), c.getFloat("iou_threshold"), c.getInt("max_detections"),
                c.getInt("pre_nms_top_k"), c.getInt("input_size"), c.getInts("strides"), c.getInt("reg_max"));
        return new NanoDetDetector(new dev.graft.engine.save.Placeholder("NanoDet preprocessing"),
                new dev.graft.engine.save.Placeholder("NanoDet backbone and head"), c.getList("labels", String.class), o);
    }

    public Options options() {
        return options;
    }

    public List<String> labels() {
        return labels;
    }

    /** Runs preprocessing and the backbone only: the raw head outputs, in the backbone's order. */
    public Tensor[] rawOutputs(Tensor image) {
        Object out = backbone.callAny(preprocess.call(image));
        if (out instanceof Tensor[] ts) {
            return ts;
        }
        throw new ModuleException("NanoDetDetector: the backbone returned "
                + (out == null ? "null" : out.getClass().getSimpleName()) + ", expected a Tensor[]");
    }

    /**
     * Detects objects in a letterboxed image of a {@code photoWidth x photoHeight} photo (placed as
     * {@link Letterbox#fit} places it); boxes come back in photo pixels. Same as {@code callAny(image, w, h)}.
     */
    @SuppressWarnings("unchecked")
    public List<Detection> detect(Tensor image, int photoWidth, int photoHeight) {
        return (List<Detection>) callAny(image, photoWidth, photoHeight);
    }

    /** {@link #detect(Tensor, int, int)} for an image letterboxed as {@code box} (as {@link Letterbox#fit} does). */
    public List<Detection> detect(Tensor image, Letterbox box) {
        if (!box.equals(Letterbox.fit(box.photoWidth(), box.photoHeight(), options.inputSize()))) {
            throw new ModuleException("NanoDetDetector: the image must be placed as Letterbox.fit places it, got "
                    + box);
        }
        return detect(image, box.photoWidth(), box.photoHeight());
    }

    /**
     * Inputs: the image tensor [1,3,S,S] (RGB 0..255, letterboxed), then optionally the photo's width and height
     * (Integers); without them boxes are in input pixels. Returns a {@code List<Detection>}.
     */
    @Override
    protected Object forwardAny(Object... inputs) {
        if ((inputs.length != 1 && inputs.length != 3) || !(inputs[0] instanceof Tensor image)
                || (inputs.length == 3 && !(inputs[1] instanceof Integer && inputs[2] instanceof Integer))) {
            throw new ModuleException("NanoDetDetector takes (Tensor image [1,3,S,S]) or (image, int photoWidth,"
                    + " int photoHeight)");
        }
        int size = options.inputSize();
        Letterbox box = inputs.length == 3 ? Letterbox.fit((Integer) inputs[1], (Integer) inputs[2], size) : null;
        if (!Arrays.equals(image.shape(), new int[] {1, 3, size, size})) {
            throw new ModuleException("NanoDetDetector: expected an image of shape [1, 3, " + size + ", " + size
                    + "], got " + Arrays.toString(image.shape()));
        }
        Tensor[] outputs = rawOutputs(image);
        List<Candidate> candidates = new ArrayList<>();
        for (int stride : options.strides()) {
            decodeLevel(outputs, stride, candidates);
        }
        List<Candidate> kept = classWiseNms(candidates, options.iouThreshold());
        List<Detection> out = new ArrayList<>();
        for (Candidate c : kept) {
            if (out.size() == options.maxDetections()) {
                break;
            }
            float x1 = box == null ? c.x1 : box.toPhotoX(c.x1);
            float y1 = box == null ? c.y1 : box.toPhotoY(c.y1);
            float x2 = box == null ? c.x2 : box.toPhotoX(c.x2);
            float y2 = box == null ? c.y2 : box.toPhotoY(c.y2);
            if (x2 - x1 < 1f || y2 - y1 < 1f) {
                continue; // nothing left of it inside the photo (it lay on the padding)
            }
            String label = c.classId < labels.size() ? labels.get(c.classId) : "class " + c.classId;
            out.add(new Detection(c.classId, label, c.score, x1, y1, x2, y2));
        }
        return out;
    }

    private record Candidate(int classId, float score, float x1, float y1, float x2, float y2) {
    }

    /** One stride: the integral as ops, then threshold and top-k on the values (the data-dependent part). */
    private void decodeLevel(Tensor[] outputs, int stride, List<Candidate> sink) {
        int grid = options.inputSize() / stride;
        int n = grid * grid;
        int bins = options.regMax() + 1;
        Tensor scores = find(outputs, n, labels.size(), stride);
        Tensor dist = find(outputs, n, 4 * bins, stride);
        // Distance of each side in input pixels: sum_i softmax(bins)_i * i, times the stride.
        Tensor distances = F.matmul(F.softmax(dist.reshape(n, 4, bins), 2), project).mul((float) stride);
        float[] d = distances.toFloatArray();
        float[] s = scores.toFloatArray();
        int classes = labels.size();
        Integer[] locations = new Integer[n];
        float[] best = new float[n];
        int count = 0;
        for (int i = 0; i < n; i++) {
            float m = 0f;
            for (int c = 0; c < classes; c++) {
                m = Math.max(m, s[i * classes + c]);
            }
            if (m > options.scoreThreshold()) {
                best[i] = m;
                locations[count++] = i;
            }
        }
        Integer[] chosen = Arrays.copyOf(locations, count);
        if (count > options.preNmsTopK()) {
            Arrays.sort(chosen, (a, b) -> Float.compare(best[b], best[a]));
            chosen = Arrays.copyOf(chosen, options.preNmsTopK());
        }
        float limit = options.inputSize();
        for (int i : chosen) {
            float cx = (i % grid + 0.5f) * stride;
            float cy = (i / grid + 0.5f) * stride;
            float x1 = clamp(cx - d[4 * i], limit);
            float y1 = clamp(cy - d[4 * i + 1], limit);
            float x2 = clamp(cx + d[4 * i + 2], limit);
            float y2 = clamp(cy + d[4 * i + 3], limit);
            for (int c = 0; c < classes; c++) {
                float score = s[i * classes + c];
                if (score > options.scoreThreshold()) {
                    sink.add(new Candidate(c, score, x1, y1, x2, y2));
                }
            }
        }
    }

    private static float clamp(float v, float limit) {
        return Math.min(Math.max(v, 0f), limit);
    }

    private static Tensor find(Tensor[] outputs, int n, int channels, int stride) {
        for (Tensor t : outputs) {
            int[] s = t.shape();
            if (s.length == 3 && s[0] == 1 && s[1] == n && s[2] == channels) {
                return t;
            }
        }
        StringBuilder shapes = new StringBuilder();
        for (Tensor t : outputs) {
            shapes.append(' ').append(Arrays.toString(t.shape()));
        }
        throw new ModuleException("NanoDetDetector: no backbone output of shape [1, " + n + ", " + channels
                + "] for stride " + stride + "; outputs:" + shapes);
    }

    /** Greedy NMS within each class; the result is sorted by score, highest first. */
    private static List<Candidate> classWiseNms(List<Candidate> candidates, float iouThreshold) {
        List<Candidate> sorted = new ArrayList<>(candidates);
        sorted.sort(Comparator.comparingDouble((Candidate c) -> c.score).reversed());
        List<Candidate> kept = new ArrayList<>();
        for (Candidate c : sorted) {
            boolean suppressed = false;
            for (Candidate k : kept) {
                if (k.classId == c.classId
                        && Detection.iou(k.x1, k.y1, k.x2, k.y2, c.x1, c.y1, c.x2, c.y2) > iouThreshold) {
                    suppressed = true;
                    break;
                }
            }
            if (!suppressed) {
                kept.add(c);
            }
        }
        return kept;
    }

    @Override
    protected String extraRepr() {
        return labels.size() + " classes, " + options;
    }
}
