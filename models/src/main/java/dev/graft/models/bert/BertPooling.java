package dev.graft.models.bert;

import dev.graft.engine.io.FormatException;
import dev.graft.ops.Tensor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * How token states become one sentence embedding: the [CLS] token's state or the mean over real tokens, then L2
 * normalization or not. sentence-transformers stores this in {@code modules.json} (a Pooling module with its own
 * {@code config.json}, and a Normalize module when the embeddings are normalized).
 */
public record BertPooling(Mode mode, boolean normalize) {
    public enum Mode { CLS, MEAN }

    /** What all-MiniLM-L6-v2 and e5-small-v2 use, and the default when the files say nothing. */
    public static final BertPooling MEAN_NORMALIZED = new BertPooling(Mode.MEAN, true);

    public BertPooling {
        java.util.Objects.requireNonNull(mode);
    }

    /** hidden [B, S, H], mask [B, S] (null: all real) -> [B, H]. */
    public Tensor apply(Tensor hidden, Tensor attentionMask) {
        Tensor pooled = mode == Mode.CLS ? hidden.select(1, 0) : SentencePooling.meanPool(hidden, attentionMask);
        return normalize ? SentencePooling.l2Normalize(pooled) : pooled;
    }

    /** {@code mean}, {@code cls}, optionally followed by {@code -normalized} (the command-line spelling). */
    public static BertPooling parse(String text) {
        String t = text.trim().toLowerCase(java.util.Locale.ROOT);
        boolean normalize = t.endsWith("-normalized");
        String mode = normalize ? t.substring(0, t.length() - "-normalized".length()) : t;
        return switch (mode) {
            case "mean" -> new BertPooling(Mode.MEAN, normalize);
            case "cls" -> new BertPooling(Mode.CLS, normalize);
            default -> throw new IllegalArgumentException("pooling must be mean, cls, mean-normalized or "
                    + "cls-normalized, got '" + text + "'");
        };
    }

    @Override
    public String toString() {
        return mode.name().toLowerCase(java.util.Locale.ROOT) + (normalize ? "-normalized" : "");
    }

    /**
     * The pooling a sentence-transformers directory describes, or null when it has no {@code modules.json}.
     * Pooling modes other than CLS and mean (max, weighted mean, last token) are refused by name.
     */
    @SuppressWarnings("unchecked")
    public static BertPooling fromSentenceTransformers(Path dir) {
        Path modulesFile = dir.resolve("modules.json");
        if (!Files.isRegularFile(modulesFile)) {
            return null;
        }
        if (!(BertFiles.readJson(modulesFile) instanceof List<?> modules)) {
            throw new FormatException(modulesFile, -1, "modules.json is not a JSON list");
        }
        Mode mode = null;
        boolean normalize = false;
        for (Object o : modules) {
            if (!(o instanceof Map<?, ?> m) || !(m.get("type") instanceof String type)) {
                throw new FormatException(modulesFile, -1, "an entry has no \"type\": " + o);
            }
            if (type.endsWith(".Normalize")) {
                normalize = true;
            } else if (type.endsWith(".Pooling")) {
                Path config = dir.resolve(String.valueOf(m.get("path"))).resolve("config.json");
                if (!Files.isRegularFile(config)) {
                    throw new FormatException(config, -1, "missing: the Pooling module's config.json");
                }
                mode = poolingMode((Map<String, Object>) BertFiles.readJson(config), config);
            }
        }
        if (mode == null) {
            throw new FormatException(modulesFile, -1, "no sentence_transformers.models.Pooling module");
        }
        return new BertPooling(mode, normalize);
    }

    private static Mode poolingMode(Map<String, Object> c, Path file) {
        for (String unsupported : List.of("pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens",
                "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken")) {
            if (Boolean.TRUE.equals(c.get(unsupported))) {
                throw new FormatException(file, -1, unsupported + " is not supported (only CLS and mean pooling)");
            }
        }
        boolean cls = Boolean.TRUE.equals(c.get("pooling_mode_cls_token"));
        boolean mean = Boolean.TRUE.equals(c.get("pooling_mode_mean_tokens"));
        if (cls == mean) {
            throw new FormatException(file, -1, "exactly one of pooling_mode_cls_token and pooling_mode_mean_tokens "
                    + "must be true");
        }
        return cls ? Mode.CLS : Mode.MEAN;
    }
}
