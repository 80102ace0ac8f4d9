package dev.graft.conformance;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Locates the workplace's shared folder (golden vectors, datasets) for tests: the system property
 * {@code graft.shared.dir} (set by the build to {@code <repo>/../shared}), else {@code ../shared} from the working
 * directory. Tests that need it skip when it is absent; the product itself never depends on it.
 */
public final class SharedData {
    private SharedData() {
    }

    public static Optional<Path> root() {
        String prop = System.getProperty("graft.shared.dir");
        for (String candidate : new String[] {prop, "../shared", "../../shared"}) {
            if (candidate != null) {
                Path p = Path.of(candidate).toAbsolutePath().normalize();
                if (Files.isDirectory(p.resolve("golden"))) {
                    return Optional.of(p);
                }
            }
        }
        return Optional.empty();
    }

    /** A file below the shared folder, if the folder and the file exist. */
    public static Optional<Path> file(String relative) {
        return root().map(r -> r.resolve(relative)).filter(Files::exists);
    }
}
