package dev.graft.formats.text;

import dev.graft.engine.io.FormatException;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The WordPiece pipeline on a small vocabulary written in the tokenizer.json layout. */
class BertTokenizerTest {
    static final String[] VOCAB = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "cafe", "un", "##aff", "##able", "over",
        "##flow", ".", ",", "!", "'", "s", "中", "国", "price", "##s", "rose", "a", "##b", "##c", "-", "naive", "u",
        "e", "$", "1", "##0"};

    static String json(String normalizerExtra, String truncation) {
        StringBuilder vocab = new StringBuilder();
        for (int i = 0; i < VOCAB.length; i++) {
            vocab.append(i == 0 ? "" : ",").append('"').append(VOCAB[i]).append("\":").append(i);
        }
        return "{\"version\":\"1.0\"," + truncation
                + "\"padding\":{\"pad_token\":\"[PAD]\",\"pad_id\":0},"
                + "\"normalizer\":{\"type\":\"BertNormalizer\",\"clean_text\":true,\"handle_chinese_chars\":true,"
                + "\"strip_accents\":null,\"lowercase\":true" + normalizerExtra + "},"
                + "\"pre_tokenizer\":{\"type\":\"BertPreTokenizer\"},"
                + "\"model\":{\"type\":\"WordPiece\",\"unk_token\":\"[UNK]\",\"continuing_subword_prefix\":\"##\","
                + "\"max_input_chars_per_word\":100,\"vocab\":{" + vocab + "}}}";
    }

    static BertTokenizer tokenizer() {
        return BertTokenizer.fromJson(json("", "\"truncation\":{\"max_length\":8},").getBytes(StandardCharsets.UTF_8),
                null);
    }

    @Test
    void lowerCasesStripsAccentsAndSplitsWordPieces() {
        BertTokenizer t = tokenizer();
        assertEquals(List.of("the", "cafe", "un", "##aff", "##able"), t.tokenize("The  CAFÉ unaffable"));
        assertEquals(List.of("naive"), t.tokenize("naïve"));
        assertEquals(List.of("over", "##flow"), t.tokenize("Overflow"));
    }

    @Test
    void punctuationIsSplitOffEveryCharacter() {
        assertEquals(List.of("price", "##s", "rose", "!", "!", ",", "'", "s", "."),
                tokenizer().tokenize("Prices rose!!,'s."));
        assertEquals(List.of("u", ".", "s", ".", "-", "$", "1", "##0"), tokenizer().tokenize("U.S.-$10"));
        // Unicode punctuation (an em dash, guillemets) splits too.
        assertEquals(List.of("the", "[UNK]", "the", "[UNK]"), tokenizer().tokenize("the\u2014the\u00bb"));
    }

    @Test
    void cjkIdeographsBecomeWordsOfTheirOwn() {
        assertEquals(List.of("中", "国", "the"), tokenizer().tokenize("中国the"));
    }

    @Test
    void unknownWordsBecomeOneUnkToken() {
        BertTokenizer t = tokenizer();
        assertEquals(List.of("[UNK]", "the"), t.tokenize("abx the"), "a, ##b, then no ##x: the whole word is [UNK]");
        assertEquals(List.of("a", "##b", "##c"), t.tokenize("abc"));
        assertEquals(List.of("[UNK]"), t.tokenize("a" + "b".repeat(100)), "longer than max_input_chars_per_word");
    }

    @Test
    void controlCharactersAreDroppedAndWhitespaceSeparates() {
        assertEquals(List.of("the", "cafe"), tokenizer().tokenize("\u0000the\u200b\tcafe\n\u00a0"));
        assertEquals(List.of(), tokenizer().tokenize("  \n\t "));
    }

    @Test
    void encodeAddsClsAndSepAndTruncates() {
        BertTokenizer t = tokenizer();
        assertArrayEquals(new int[] {2, 4, 5, 3}, t.encode("the cafe"));
        assertArrayEquals(new int[] {2, 3}, t.encode(""));
        int[] long_ = t.encode("the the the the the the the the the the");
        assertEquals(8, long_.length, "max_length counts [CLS] and [SEP]");
        assertEquals(2, long_[0]);
        assertEquals(3, long_[7]);
        assertEquals(4, t.withMaxLength(4).encode("the the the").length);
    }

    @Test
    void batchesArePaddedWithMaskAndTokenTypes() {
        BertTokenizer.Batch b = tokenizer().encodeBatch(List.of("the cafe rose", "the"));
        assertArrayEquals(new int[] {2, 5}, b.inputIds().shape());
        assertArrayEquals(new long[] {2, 4, 5, 20, 3, 2, 4, 3, 0, 0}, b.inputIds().toLongArray());
        assertArrayEquals(new long[] {1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, b.attentionMask().toLongArray());
        assertArrayEquals(new long[10], b.tokenTypeIds().toLongArray());
        assertArrayEquals(new int[] {5, 3}, b.lengths());
        BertTokenizer.Batch fixed = tokenizer().encodeBatch(List.of("the"), 6);
        assertArrayEquals(new long[] {2, 4, 3, 0, 0, 0}, fixed.inputIds().toLongArray());
    }

    @Test
    void accentsStayWhenStripAccentsIsFalse() {
        BertTokenizer t = BertTokenizer.fromJson(json("", "").replace("\"strip_accents\":null",
                "\"strip_accents\":false").getBytes(StandardCharsets.UTF_8), null);
        assertEquals(List.of("[UNK]"), t.tokenize("CAFÉ"));
        assertEquals(512, t.maxLength(), "no truncation block: BERT's 512");
    }

    @Test
    void badJsonIsAFormatException() {
        assertThrows(FormatException.class, () -> BertTokenizer.fromJson("{".getBytes(StandardCharsets.UTF_8), null));
        assertThrows(FormatException.class, () -> BertTokenizer.fromJson(
                "{\"model\":{\"type\":\"BPE\"}}".getBytes(StandardCharsets.UTF_8), null));
        FormatException e = assertThrows(FormatException.class, () -> BertTokenizer.fromJson(
                json("", "").replace("\"[CLS]\":2,", "").getBytes(StandardCharsets.UTF_8), null));
        assertTrue(e.getMessage().contains("[CLS]"), e.getMessage());
    }
}
