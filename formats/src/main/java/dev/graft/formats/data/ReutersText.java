package dev.graft.formats.data;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The Reuters-21578 ARFF sets as sentences: the first sentence of each document, for embeddings and calibration. */
public final class ReutersText {
    private ReutersText() {
    }

    /** Up to {@code count} distinct first sentences, in document order. */
    public static List<String> firstSentences(Path arff, int count) {
        ArffDataset data = ArffReader.read(arff);
        java.util.Set<String> out = new java.util.LinkedHashSet<>();
        for (String text : data.strings("Text")) {
            if (out.size() == count) {
                break;
            }
            String s = firstSentence(text);
            if (!s.isBlank()) {
                out.add(s);
            }
        }
        return new ArrayList<>(out);
    }

    /**
     * The text up to the first full stop that ends a sentence (followed by white space and not part of an
     * abbreviation such as "U.S."), with white space collapsed; at most 200 characters (cut at a word).
     */
    public static String firstSentence(String text) {
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
