package dev.graft.formats.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.graft.engine.io.FormatException;
import dev.graft.ops.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * BERT's WordPiece tokenizer as the Hugging Face {@code tokenizers} library runs it from a {@code tokenizer.json}
 * (BertNormalizer, BertPreTokenizer, WordPiece model, [CLS] A [SEP] template):
 * <ol>
 * <li>normalize: drop control characters and map whitespace to spaces, put spaces around CJK ideographs, strip
 * accents (NFD, then remove non-spacing marks), lower-case;</li>
 * <li>split on whitespace and around every punctuation character;</li>
 * <li>cut each word greedily into the longest vocabulary pieces, continuations prefixed {@code ##}; a word that does
 * not split completely (or is longer than {@code max_input_chars_per_word}) becomes [UNK];</li>
 * <li>truncate to {@code maxLength} tokens including [CLS] and [SEP]; pad batches with [PAD] to the longest.</li>
 * </ol>
 */
public final class BertTokenizer {
    private final Map<String, Integer> vocab;
    private final String[] idToToken;
    private final String unkToken;
    private final String continuationPrefix;
    private final int maxInputCharsPerWord;
    private final boolean lowercase;
    private final boolean stripAccents;
    private final boolean cleanText;
    private final boolean handleChineseChars;
    private final int maxLength;
    private final int clsId;
    private final int sepId;
    private final int padId;
    private final int unkId;

    BertTokenizer(Map<String, Integer> vocab, String unkToken, String continuationPrefix, int maxInputCharsPerWord,
                  boolean lowercase, boolean stripAccents, boolean cleanText, boolean handleChineseChars,
                  int maxLength, String clsToken, String sepToken, String padToken) {
        this.vocab = Map.copyOf(vocab);
        int maxId = vocab.values().stream().mapToInt(Integer::intValue).max().orElse(-1);
        this.idToToken = new String[maxId + 1];
        vocab.forEach((t, id) -> idToToken[id] = t);
        this.unkToken = unkToken;
        this.continuationPrefix = continuationPrefix;
        this.maxInputCharsPerWord = maxInputCharsPerWord;
        this.lowercase = lowercase;
        this.stripAccents = stripAccents;
        this.cleanText = cleanText;
        this.handleChineseChars = handleChineseChars;
        if (maxLength < 2) {
            throw new IllegalArgumentException("maxLength must leave room for [CLS] and [SEP], got " + maxLength);
        }
        this.maxLength = maxLength;
        this.clsId = require(clsToken);
        this.sepId = require(sepToken);
        this.padId = require(padToken);
        this.unkId = require(unkToken);
    }

    private int require(String token) {
        Integer id = vocab.get(token);
        if (id == null) {
            throw new IllegalArgumentException("special token " + token + " is not in the vocabulary");
        }
        return id;
    }

    // ---------------------------------------------------------------- loading

    public static BertTokenizer fromJson(Path file) {
        try {
            return fromJson(Files.readAllBytes(file), file);
        } catch (IOException e) {
            throw new FormatException(file, -1, "cannot read tokenizer: " + e.getMessage(), e);
        }
    }

    /** Reads a Hugging Face {@code tokenizer.json} with a WordPiece model; {@code file} names the source in errors. */
    public static BertTokenizer fromJson(byte[] json, Path file) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(json);
        } catch (IOException e) {
            throw new FormatException(file, -1, "tokenizer JSON does not parse: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new FormatException(file, -1, "tokenizer JSON is not an object");
        }
        JsonNode model = root.path("model");
        if (!"WordPiece".equals(model.path("type").asText())) {
            throw new FormatException(file, -1, "model.type is '" + model.path("type").asText()
                    + "'; only WordPiece is supported");
        }
        JsonNode vocabNode = model.path("vocab");
        if (!vocabNode.isObject() || vocabNode.isEmpty()) {
            throw new FormatException(file, -1, "model.vocab is missing or empty");
        }
        Map<String, Integer> vocab = new HashMap<>();
        vocabNode.fields().forEachRemaining(e -> {
            if (!e.getValue().canConvertToInt() || e.getValue().asInt() < 0 || e.getValue().asInt() > 10_000_000) {
                throw new FormatException(file, -1, "model.vocab['" + e.getKey() + "'] is not a valid id");
            }
            vocab.put(e.getKey(), e.getValue().asInt());
        });
        JsonNode normalizer = root.path("normalizer");
        boolean lowercase = normalizer.path("lowercase").asBoolean(true);
        JsonNode strip = normalizer.path("strip_accents");
        // BertNormalizer: strip_accents null means "do what lowercase does".
        boolean stripAccents = strip.isBoolean() ? strip.asBoolean() : lowercase;
        int maxLength = root.path("truncation").path("max_length").asInt(512);
        try {
            return new BertTokenizer(vocab, model.path("unk_token").asText("[UNK]"),
                    model.path("continuing_subword_prefix").asText("##"),
                    model.path("max_input_chars_per_word").asInt(100), lowercase, stripAccents,
                    normalizer.path("clean_text").asBoolean(true),
                    normalizer.path("handle_chinese_chars").asBoolean(true), maxLength, "[CLS]", "[SEP]",
                    root.path("padding").path("pad_token").asText("[PAD]"));
        } catch (IllegalArgumentException e) {
            throw new FormatException(file, -1, e.getMessage(), e);
        }
    }

    /** The same tokenizer truncating to another length (counting [CLS] and [SEP]). */
    public BertTokenizer withMaxLength(int length) {
        return new BertTokenizer(vocab, unkToken, continuationPrefix, maxInputCharsPerWord, lowercase, stripAccents,
                cleanText, handleChineseChars, length, idToToken[clsId], idToToken[sepId], idToToken[padId]);
    }

    public int maxLength() {
        return maxLength;
    }

    public int vocabSize() {
        return idToToken.length;
    }

    public int padId() {
        return padId;
    }

    public int unkId() {
        return unkId;
    }

    public int clsId() {
        return clsId;
    }

    public int sepId() {
        return sepId;
    }

    /** The token of an id, or null. */
    public String token(int id) {
        return id >= 0 && id < idToToken.length ? idToToken[id] : null;
    }

    /** The id of a token, or -1. */
    public int id(String token) {
        return vocab.getOrDefault(token, -1);
    }

    // ---------------------------------------------------------------- the pipeline

    /** Word pieces of {@code text} without special tokens and without truncation. */
    public List<String> tokenize(String text) {
        List<String> pieces = new ArrayList<>();
        for (String word : preTokenize(normalize(text))) {
            wordPiece(word, pieces);
        }
        return pieces;
    }

    /** [CLS] pieces [SEP] as ids, truncated to {@link #maxLength()}. */
    public int[] encode(String text) {
        List<String> pieces = tokenize(text);
        int keep = Math.min(pieces.size(), maxLength - 2);
        int[] ids = new int[keep + 2];
        ids[0] = clsId;
        for (int i = 0; i < keep; i++) {
            ids[i + 1] = vocab.get(pieces.get(i));
        }
        ids[keep + 1] = sepId;
        return ids;
    }

    /** A batch padded to its longest sequence. */
    public Batch encodeBatch(List<String> texts) {
        return encodeBatch(texts, 0);
    }

    /**
     * A batch padded on the right to {@code max(padTo, longest sequence)} with [PAD] (mask 0); every token type is 0.
     */
    public Batch encodeBatch(List<String> texts, int padTo) {
        int[][] encoded = new int[texts.size()][];
        int longest = 0;
        for (int i = 0; i < encoded.length; i++) {
            encoded[i] = encode(texts.get(i));
            longest = Math.max(longest, encoded[i].length);
        }
        int length = Math.max(longest, padTo);
        long[] ids = new long[encoded.length * length];
        long[] mask = new long[ids.length];
        int[] lengths = new int[encoded.length];
        for (int i = 0; i < encoded.length; i++) {
            lengths[i] = encoded[i].length;
            for (int j = 0; j < length; j++) {
                boolean real = j < encoded[i].length;
                ids[i * length + j] = real ? encoded[i][j] : padId;
                mask[i * length + j] = real ? 1 : 0;
            }
        }
        int[] shape = {encoded.length, length};
        return new Batch(Tensor.ofLongs(ids, shape), Tensor.ofLongs(mask, shape),
                Tensor.ofLongs(new long[ids.length], shape), lengths);
    }

    /**
     * A tokenized batch: int64 tensors [B, S] of ids, attention mask (1 real, 0 padding) and token types, and each
     * sequence's real length.
     */
    public record Batch(Tensor inputIds, Tensor attentionMask, Tensor tokenTypeIds, int[] lengths) {
        public Batch {
            lengths = lengths.clone();
        }

        @Override
        public int[] lengths() {
            return lengths.clone();
        }
    }

    // ---------------------------------------------------------------- steps

    String normalize(String text) {
        StringBuilder sb = new StringBuilder(text.length() + 16);
        text.codePoints().forEach(c -> {
            if (cleanText) {
                if (c == 0 || c == 0xFFFD || isControl(c)) {
                    return;
                }
                if (isWhitespace(c)) {
                    sb.append(' ');
                    return;
                }
            }
            if (handleChineseChars && isCjk(c)) {
                sb.append(' ').appendCodePoint(c).append(' ');
            } else {
                sb.appendCodePoint(c);
            }
        });
        String s = sb.toString();
        if (stripAccents) {
            StringBuilder out = new StringBuilder(s.length());
            Normalizer.normalize(s, Normalizer.Form.NFD).codePoints().forEach(c -> {
                if (Character.getType(c) != Character.NON_SPACING_MARK) {
                    out.appendCodePoint(c);
                }
            });
            s = out.toString();
        }
        return lowercase ? s.toLowerCase(Locale.ROOT) : s;
    }

    /** Splits on whitespace and isolates every punctuation character. */
    static List<String> preTokenize(String text) {
        List<String> words = new ArrayList<>();
        StringBuilder word = new StringBuilder();
        text.codePoints().forEach(c -> {
            if (isWhitespace(c)) {
                flush(word, words);
            } else if (isPunctuation(c)) {
                flush(word, words);
                words.add(new String(Character.toChars(c)));
            } else {
                word.appendCodePoint(c);
            }
        });
        flush(word, words);
        return words;
    }

    private static void flush(StringBuilder word, List<String> words) {
        if (!word.isEmpty()) {
            words.add(word.toString());
            word.setLength(0);
        }
    }

    /** Greedy longest-match-first WordPiece of one word, appended to {@code out}. */
    void wordPiece(String word, List<String> out) {
        int[] cps = word.codePoints().toArray();
        if (cps.length > maxInputCharsPerWord) {
            out.add(unkToken);
            return;
        }
        List<String> pieces = new ArrayList<>();
        int start = 0;
        while (start < cps.length) {
            int end = cps.length;
            String found = null;
            while (start < end) {
                String piece = new String(cps, start, end - start);
                if (start > 0) {
                    piece = continuationPrefix + piece;
                }
                if (vocab.containsKey(piece)) {
                    found = piece;
                    break;
                }
                end--;
            }
            if (found == null) {
                out.add(unkToken);
                return;
            }
            pieces.add(found);
            start = end;
        }
        out.addAll(pieces);
    }

    // ---------------------------------------------------------------- character classes (as BERT defines them)

    static boolean isWhitespace(int c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || Character.getType(c) == Character.SPACE_SEPARATOR
                || Character.isWhitespace(c);
    }

    static boolean isControl(int c) {
        if (c == '\t' || c == '\n' || c == '\r') {
            return false;
        }
        int t = Character.getType(c);
        return t == Character.CONTROL || t == Character.FORMAT || t == Character.UNASSIGNED
                || t == Character.PRIVATE_USE || t == Character.SURROGATE;
    }

    static boolean isPunctuation(int c) {
        if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) {
            return true;
        }
        return switch (Character.getType(c)) {
            case Character.CONNECTOR_PUNCTUATION, Character.DASH_PUNCTUATION, Character.START_PUNCTUATION,
                 Character.END_PUNCTUATION, Character.INITIAL_QUOTE_PUNCTUATION, Character.FINAL_QUOTE_PUNCTUATION,
                 Character.OTHER_PUNCTUATION -> true;
            default -> false;
        };
    }

    static boolean isCjk(int c) {
        return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF)
                || (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF)
                || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
    }
}
