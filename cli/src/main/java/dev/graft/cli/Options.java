package dev.graft.cli;

import dev.graft.engine.io.FormatException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The command line of one command, parsed against the flags it declares and checked before any work starts. Every
 * problem is a {@link UsageException} (exit code 2) whose message names the flag:
 * <pre>{@code
 * Options o = Options.spec().switches("--reduce-range").values("--approach", "--calib", "--out").parse(args);
 * int calib = o.integer("--calib", 1, 100_000, 32);     // "--calib takes a whole number in 1..100000, got '0'"
 * Path out = o.outputFile("--out");                      // null when absent; its folder must exist
 * }</pre>
 * Parsing rejects unknown flags ("unknown option --bogus"), a value flag with no value ("--out needs a value", also
 * when the next word is another flag) and a flag given twice. Words that are not flags are positionals, read with
 * {@link #positional}; everything after {@code --} is positional even when it starts with a dash.
 */
final class Options {
    private final Map<String, String> values;
    private final Set<String> switchesOn;
    private final List<String> positionals;

    private Options(Map<String, String> values, Set<String> switchesOn, List<String> positionals) {
        this.values = values;
        this.switchesOn = switchesOn;
        this.positionals = positionals;
    }

    /** Starts declaring the flags a command accepts. */
    static Spec spec() {
        return new Spec();
    }

    /** The flags of one command: switches (present or not) and flags that take one value, plus short aliases. */
    static final class Spec {
        private final Set<String> switches = new LinkedHashSet<>();
        private final Set<String> valued = new LinkedHashSet<>();
        private final Map<String, String> aliases = new LinkedHashMap<>();

        Spec switches(String... names) {
            switches.addAll(List.of(names));
            return this;
        }

        Spec values(String... names) {
            valued.addAll(List.of(names));
            return this;
        }

        /** {@code shortName} means the same as {@code name} (which must be declared too). */
        Spec alias(String shortName, String name) {
            aliases.put(shortName, name);
            return this;
        }

        Options parse(List<String> args) {
            Map<String, String> values = new LinkedHashMap<>();
            Set<String> on = new LinkedHashSet<>();
            List<String> positionals = new ArrayList<>();
            boolean onlyPositionals = false;
            for (int i = 0; i < args.size(); i++) {
                String word = args.get(i);
                if (onlyPositionals || !isFlag(word)) {
                    positionals.add(word);
                    continue;
                }
                if (word.equals("--")) {
                    onlyPositionals = true;
                    continue;
                }
                String name = aliases.getOrDefault(word, word);
                String inlineValue = null;
                int eq = word.indexOf('=');
                if (word.startsWith("--") && eq > 2) {     // --calib=64
                    name = word.substring(0, eq);
                    inlineValue = word.substring(eq + 1);
                }
                if (switches.contains(name)) {
                    if (inlineValue != null) {
                        throw new UsageException(name + " takes no value, got '" + word + "'");
                    }
                    if (!on.add(name)) {
                        throw new UsageException(name + " given twice");
                    }
                } else if (valued.contains(name)) {
                    String value = inlineValue;
                    if (value == null) {
                        if (i + 1 >= args.size() || args.get(i + 1).startsWith("--")) {
                            throw new UsageException(name + " needs a value");
                        }
                        value = args.get(++i);
                    }
                    if (values.putIfAbsent(name, value) != null) {
                        throw new UsageException(name + " given twice");
                    }
                } else {
                    throw new UsageException("unknown option " + word + known());
                }
            }
            return new Options(values, on, positionals);
        }

        /** Dashes start a flag, but a negative number ({@code -5}) is a word, so a range check can name it. */
        private static boolean isFlag(String word) {
            return word.startsWith("-") && word.length() > 1 && !Character.isDigit(word.charAt(1));
        }

        private String known() {
            Set<String> all = new LinkedHashSet<>(valued);
            all.addAll(switches);
            return all.isEmpty() ? " (this command takes no options)" : " (options: " + String.join(", ", all) + ")";
        }
    }

    // ---------------------------------------------------------------- positionals

    List<String> positionals() {
        return positionals;
    }

    /** The {@code i}-th positional; {@code missing} is the message when there are fewer. */
    String positional(int i, String missing) {
        if (i >= positionals.size()) {
            throw new UsageException(missing);
        }
        return positionals.get(i);
    }

    /** Fails when there are more than {@code max} positionals, quoting the first extra one. */
    Options atMostPositionals(int max) {
        if (positionals.size() > max) {
            throw new UsageException("unexpected argument '" + positionals.get(max) + "'"
                    + (max == 0 ? " (this command takes only options)" : ""));
        }
        return this;
    }

    /** The positional {@code i} when it is one of {@code choices}; {@code what} names it ("model"). */
    String choice(int i, String what, List<String> choices) {
        String v = positional(i, "which " + what + "? one of " + String.join(", ", choices));
        if (!choices.contains(v)) {
            throw new UsageException("unknown " + what + " '" + v + "' (choose one of " + String.join(", ", choices)
                    + ")");
        }
        return v;
    }

    // ---------------------------------------------------------------- flags

    boolean has(String switchName) {
        return switchesOn.contains(switchName);
    }

    /** Whether a value flag was given. */
    boolean given(String flag) {
        return values.containsKey(flag);
    }

    String string(String flag, String defaultValue) {
        return values.getOrDefault(flag, defaultValue);
    }

    /** A flag that must be given; {@code hint} follows "FLAG is required" (say what it takes). */
    String required(String flag, String hint) {
        String v = values.get(flag);
        if (v == null) {
            throw new UsageException(flag + " is required" + (hint.isEmpty() ? "" : " (" + hint + ")"));
        }
        return v;
    }

    /** The flag's value when it is one of {@code choices} (or the default when absent). */
    String choice(String flag, List<String> choices, String defaultValue) {
        String v = values.get(flag);
        if (v == null) {
            return defaultValue;
        }
        String lower = v.toLowerCase(Locale.ROOT);
        if (!choices.contains(lower)) {
            throw new UsageException(flag + " must be one of " + String.join(", ", choices) + ", got '" + v + "'");
        }
        return lower;
    }

    /** A whole number in {@code min..max} (inclusive), or {@code defaultValue} when the flag is absent. */
    int integer(String flag, int min, int max, int defaultValue) {
        String v = values.get(flag);
        if (v == null) {
            return defaultValue;
        }
        long n;
        try {
            n = Long.parseLong(v.replace("_", ""));
        } catch (NumberFormatException e) {
            n = Long.MIN_VALUE;
        }
        if (n < min || n > max) {
            throw new UsageException(flag + " takes a whole number in " + min + ".." + max + ", got '" + v + "'");
        }
        return (int) n;
    }

    /** A finite number in {@code min..max} (inclusive), or {@code defaultValue} when the flag is absent. */
    double number(String flag, double min, double max, double defaultValue) {
        String v = values.get(flag);
        if (v == null) {
            return defaultValue;
        }
        double x;
        try {
            x = Double.parseDouble(v);
        } catch (NumberFormatException e) {
            x = Double.NaN;
        }
        if (!(x >= min && x <= max)) {      // also false for NaN and for "Infinity" outside the range
            throw new UsageException(flag + " takes a number in " + min + ".." + max + ", got '" + v + "'");
        }
        return x;
    }

    // ---------------------------------------------------------------- files

    /** A file to read given by {@code flag}, or null when absent: it must exist and be a regular file. */
    Path inputFile(String flag) {
        String v = values.get(flag);
        return v == null ? null : existingFile(v);
    }

    /**
     * Checks that {@code value} names a regular file that exists. A missing file is a failure (exit 1, like any file
     * that cannot be read), reported as a {@link FormatException} naming the file and saying what it is instead.
     */
    static Path existingFile(String value) {
        Path p = Path.of(value);
        if (Files.isDirectory(p)) {
            throw new FormatException(p, -1, "is a directory, not a file");
        }
        if (!Files.exists(p)) {
            throw new FormatException(p, -1, "no such file");
        }
        if (!Files.isRegularFile(p) || !Files.isReadable(p)) {
            throw new FormatException(p, -1, "is not a readable file");
        }
        return p;
    }

    /**
     * A file to write given by {@code flag}, or null when absent: not a directory, and its folder must exist (Graft
     * does not create folders behind a typo). The file itself is written atomically by the command.
     */
    Path outputFile(String flag) {
        String v = values.get(flag);
        if (v == null) {
            return null;
        }
        Path p = Path.of(v);
        if (Files.isDirectory(p)) {
            throw new UsageException(flag + ": " + v + " is a directory; name the file to write");
        }
        Path folder = p.toAbsolutePath().getParent();
        if (folder != null && !Files.isDirectory(folder)) {
            throw new UsageException(flag + ": the folder " + folder + " does not exist (create it first)");
        }
        return p;
    }

    /**
     * A folder to write into given by {@code flag} (or {@code defaultValue}): created when missing, but only inside
     * a folder that exists; an existing plain file is refused.
     */
    Path outputDir(String flag, Path defaultValue) {
        String v = values.get(flag);
        Path p = v == null ? defaultValue : Path.of(v);
        if (Files.exists(p) && !Files.isDirectory(p)) {
            throw new UsageException(flag + ": " + p + " is a file, not a folder");
        }
        Path parent = p.toAbsolutePath().getParent();
        if (!Files.exists(p) && parent != null && !Files.isDirectory(parent)) {
            throw new UsageException(flag + ": the folder " + parent + " does not exist (create it first)");
        }
        return p;
    }
}
