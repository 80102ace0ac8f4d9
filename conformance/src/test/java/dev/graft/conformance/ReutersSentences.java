package dev.graft.conformance;

import dev.graft.formats.data.ArffDataset;
import dev.graft.formats.data.ArffReader;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** Real sentences for the text-model tests: the first sentence of each Reuters Grain test document. */
public final class ReutersSentences {
    static final String TEST_FILE = "data/reuters/ReutersGrain-test.arff.gz";

    private ReutersSentences() {
    }

    /** Up to {@code count} distinct first sentences; empty when the shared data is absent. */
    public static List<String> firstSentences(int count) {
        Optional<Path> file = SharedData.file(TEST_FILE);
        if (file.isEmpty()) {
            return List.of();
        }
        ArffDataset data = ArffReader.read(file.get());
        Set<String> out = new LinkedHashSet<>();
        for (String text : data.strings("Text")) {
            if (out.size() == count) {
                break;
            }
            String s = firstSentence(text);
            if (!s.isEmpty()) {
                out.add(s);
            }
        }
        return new ArrayList<>(out);
    }

    /**
     * The text up to the first full stop that ends a sentence (followed by white space and not part of an
     * abbreviation such as "U.S."), with white space collapsed; at most 200 characters (cut at a word).
     */
    static String firstSentence(String text) {
        String t = text.replaceAll("\\s+", " ").strip();
        for (int i = 1; i < t.length() - 1; i++) {
            if (t.charAt(i) == '.' && t.charAt(i + 1) == ' ' && Character.isLowerCase(t.charAt(i - 1))) {
                t = t.substring(0, i + 1);
                break;
            }
        }
        if (t.length() > 200) {
            int space = t.lastIndexOf(" ", 200);
            t = t.substring(0, space > 0 ? space : 200);
        }
        return t;
    }
}
