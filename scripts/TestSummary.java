import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

import javax.xml.parsers.DocumentBuilderFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The end of {@code ./graft test}: the totals over every module's surefire reports, then one line per group of
 * skipped tests (the same module and reason) saying why and the command that runs them, and the tag groups the
 * build excluded. Run by the launcher with the JDK's source launcher:
 * {@code java scripts/TestSummary.java ROOT EXCLUDED-TAGS}.
 */
public final class TestSummary {
    private record Skip(String module, String reason) implements Comparable<Skip> {
        public int compareTo(Skip o) {
            int c = module.compareTo(o.module);
            return c != 0 ? c : reason.compareTo(o.reason);
        }
    }

    public static void main(String[] args) throws Exception {
        Path root = Path.of(args.length > 0 ? args[0] : ".");
        String excluded = args.length > 1 ? args[1] : "";
        int tests = 0, failed = 0, skipped = 0, modules = 0;
        Map<Skip, TreeSet<String>> groups = new TreeMap<>();
        List<Path> dirs;
        try (Stream<Path> s = Files.list(root)) {
            dirs = s.map(p -> p.resolve("target/surefire-reports")).filter(Files::isDirectory).sorted().toList();
        }
        for (Path dir : dirs) {
            String module = dir.getParent().getParent().getFileName().toString();
            List<Path> reports;
            try (Stream<Path> s = Files.list(dir)) {
                reports = s.filter(p -> p.getFileName().toString().matches("TEST-.*\\.xml")).sorted().toList();
            }
            if (!reports.isEmpty()) {
                modules++;
            }
            for (Path report : reports) {
                Document doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(report.toFile());
                NodeList cases = doc.getElementsByTagName("testcase");
                for (int i = 0; i < cases.getLength(); i++) {
                    Element c = (Element) cases.item(i);
                    tests++;
                    if (c.getElementsByTagName("failure").getLength() + c.getElementsByTagName("error").getLength()
                            > 0) {
                        failed++;
                    }
                    NodeList skips = c.getElementsByTagName("skipped");
                    if (skips.getLength() > 0) {
                        skipped++;
                        String cls = c.getAttribute("classname");
                        groups.computeIfAbsent(new Skip(module, reason((Element) skips.item(0))),
                                k -> new TreeSet<>()).add(cls.substring(cls.lastIndexOf('.') + 1));
                    }
                }
            }
        }
        if (tests == 0) {
            return;
        }
        System.out.printf("graft: %d tests in %d module%s: %d passed, %d skipped, %d failed%n", tests, modules,
                modules == 1 ? "" : "s", tests - skipped - failed, skipped, failed);
        for (Map.Entry<Skip, TreeSet<String>> g : groups.entrySet()) {
            Skip s = g.getKey();
            System.out.printf("graft: skipped in %s (%s): %s; once that is fixed: ./graft test -pl %s -am -Dtest=%s"
                            + " -Dsurefire.failIfNoSpecifiedTests=false%n", s.module(), String.join(", ", g.getValue()),
                    s.reason(), s.module(), String.join(",", g.getValue()));
        }
        if (!excluded.isBlank()) {
            System.out.printf("graft: not run: the tests tagged %s (%s); to run them too: ./graft test"
                    + " -Dgraft.test.excluded=%n", excluded, tagged(root, excluded));
        }
    }

    private static final Pattern ASSUMPTION = Pattern.compile("(?:Assumption failed: )?(.*)");

    /** The skip's reason: the message attribute (@Disabled) or the first line of the aborted test's trace. */
    private static String reason(Element skipped) {
        String m = skipped.getAttribute("message");
        if (m.isBlank()) {
            String text = skipped.getTextContent().strip();
            m = text.lines().findFirst().orElse("no reason given");
            int colon = m.indexOf(": ");
            if (m.startsWith("org.opentest4j.") && colon > 0) {
                m = m.substring(colon + 2);
            }
        }
        Matcher a = ASSUMPTION.matcher(m.strip());
        return a.matches() ? a.group(1) : m.strip();
    }

    /** The test classes that carry one of the excluded tags (by their source). */
    private static String tagged(Path root, String excluded) throws IOException {
        TreeSet<String> classes = new TreeSet<>();
        List<String> tags = List.of(excluded.split(","));
        try (Stream<Path> s = Files.walk(root, 14)) {
            for (Path p : s.filter(p -> p.toString().endsWith("Test.java") && p.toString().contains("/src/test/"))
                    .toList()) {
                String src = Files.readString(p);
                for (String tag : tags) {
                    if (src.contains("@Tag(\"" + tag.strip() + "\")")) {
                        classes.add(p.getFileName().toString().replace(".java", "") + " [" + tag.strip() + "]");
                    }
                }
            }
        }
        return classes.isEmpty() ? "none here" : String.join(", ", classes);
    }
}
