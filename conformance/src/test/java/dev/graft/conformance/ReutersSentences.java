package dev.graft.conformance;

import dev.graft.formats.data.ReutersText;

import java.nio.file.Path;
import java.util.List;

/** Real sentences for the text-model tests: the first sentence of each Reuters Grain test document. */
public final class ReutersSentences {
    static final String TEST_FILE = "ReutersGrain-test.arff.gz";

    private ReutersSentences() {
    }

    /** Up to {@code count} distinct first sentences; the test stops ({@link Required}) when the data is absent. */
    public static List<String> firstSentences(int count) {
        Path file = Required.present(SharedData.dataFile("reuters", TEST_FILE), "the Reuters Grain test file "
                + TEST_FILE);
        return ReutersText.firstSentences(file, count);
    }

    /** As {@link #firstSentences}, but empty (for the caller to report) when the data is absent. */
    public static List<String> sentencesIfPresent(int count) {
        return SharedData.dataFile("reuters", TEST_FILE).map(f -> ReutersText.firstSentences(f, count))
                .orElse(List.of());
    }

    static String firstSentence(String text) {
        return ReutersText.firstSentence(text);
    }
}
