package dev.graft.conformance;

import dev.graft.formats.data.ReutersText;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** Real sentences for the text-model tests: the first sentence of each Reuters Grain test document. */
public final class ReutersSentences {
    static final String TEST_FILE = "data/reuters/ReutersGrain-test.arff.gz";

    private ReutersSentences() {
    }

    /** Up to {@code count} distinct first sentences; empty when the shared data is absent. */
    public static List<String> firstSentences(int count) {
        Optional<Path> file = SharedData.file(TEST_FILE);
        return file.isEmpty() ? List.of() : ReutersText.firstSentences(file.get(), count);
    }

    static String firstSentence(String text) {
        return ReutersText.firstSentence(text);
    }
}
