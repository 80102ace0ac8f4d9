package dev.graft.cli.fuzz;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Map;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A bounded fuzz run of every reader in the test suite (a few hundred inputs each, about 20 s in all); the long runs
 * are {@code ./graft fuzz READER --inputs N} (docs/RELIABILITY.md). Fails on any untyped exception, OOM or hang and
 * prints the reproducing input. The readers' caps are lowered for the run, as the fuzz command lowers them.
 */
class FuzzTest {
    private static final Map<String, String> CAPS = Map.of("graft.limit.bytes", "32m", "graft.limit.pixels", "4m");
    private static Map<String, String> saved;

    @BeforeAll
    static void lowerTheCaps() {
        saved = CAPS.keySet().stream().filter(k -> System.getProperty(k) != null)
                .collect(Collectors.toMap(k -> k, System::getProperty));
        CAPS.forEach(System::setProperty);
    }

    @AfterAll
    static void restoreTheCaps() {
        CAPS.keySet().forEach(System::clearProperty);
        saved.forEach(System::setProperty);
    }

    @ParameterizedTest(name = "{0}: {1} inputs")
    @CsvSource({"idx, 400", "arff, 300", "image, 400", "tokenizer, 200", "safetensors, 400", "onnx, 300",
        "tfjs, 200", "graft, 300"})
    void noInputGetsAnythingButALoadOrAFormatException(String reader, int inputs) throws Exception {
        Fuzzer fuzzer = new Fuzzer(Targets.create(reader), 10_000, null);
        Fuzzer.Report r = fuzzer.run(7, 0, inputs, null, 0);
        System.out.println(r.summary());
        assertTrue(r.clean(), () -> r.summary() + "\n" + r.failures().stream().map(f -> f + "\n    reproduce:"
                + " ./graft fuzz " + reader + " --seed 7 --only " + f.index()).collect(Collectors.joining("\n")));
        assertEquals(inputs, r.inputs());
        assertTrue(r.counts().get(Fuzzer.Outcome.LOADED) > 0 && r.counts().get(Fuzzer.Outcome.REFUSED) > 0,
                "the mutations reach both outcomes: " + r.summary());
    }
}
