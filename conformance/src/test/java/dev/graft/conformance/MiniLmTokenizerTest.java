package dev.graft.conformance;

import dev.graft.formats.text.BertTokenizer;
import dev.graft.models.bert.MiniLm;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The real all-MiniLM-L6-v2 tokenizer.json (bert-base-uncased vocabulary) read and run by Graft. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MiniLmTokenizerTest {
    private BertTokenizer tokenizer;

    @BeforeAll
    void load() {
        Required.require(MiniLm.available(), "the model jar " + MiniLm.MAVEN_COORDINATE + " on the class path");
        tokenizer = MiniLm.tokenizer();
    }

    @Test
    void readsTheVocabularyAndSpecialTokens() {
        assertEquals(30522, tokenizer.vocabSize());
        assertEquals(0, tokenizer.padId());
        assertEquals(100, tokenizer.unkId());
        assertEquals(101, tokenizer.clsId());
        assertEquals(102, tokenizer.sepId());
        assertEquals(128, tokenizer.maxLength());
    }

    @Test
    void encodesWellKnownIds() {
        // bert-base-uncased: hello 7592, world 2088, "," 1010, "!" 999, "." 1012, the 1996.
        assertArrayEquals(new int[] {101, 7592, 1010, 2088, 999, 102}, tokenizer.encode("Hello, WORLD!"));
        assertArrayEquals(new int[] {101, 1996, 1012, 102}, tokenizer.encode("the."));
    }

    @Test
    void splitsRareWordsIntoPiecesAndKeepsAccentsOut() {
        List<String> pieces = tokenizer.tokenize("Unaffable résumé");
        assertTrue(pieces.size() >= 3, pieces.toString());
        assertTrue(pieces.stream().skip(1).anyMatch(p -> p.startsWith("##")), pieces.toString());
        assertEquals(tokenizer.tokenize("unaffable resume"), pieces);
        assertEquals(List.of("中", "国"), tokenizer.tokenize("中国"));
    }

    @Test
    void truncatesLongReutersTextToTheModelLimit() {
        List<String> sentences = ReutersSentences.firstSentences(40);
        Required.require(!sentences.isEmpty(), "the Reuters Grain test file");
        String all = String.join(" ", sentences);
        int[] ids = tokenizer.encode(all);
        assertEquals(128, ids.length);
        assertEquals(102, ids[127]);
        for (int id : ids) {
            assertTrue(id >= 0 && id < 30522);
        }
    }
}
