package dev.graft.cli;

import dev.graft.engine.io.FormatException;

import java.io.File;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * The user's own classes for the commands that load a saved model whose glue class is theirs
 * ({@code --classpath DIR|JAR[:...]}): a class loader over those folders and jars, made the thread's context class
 * loader (where the loader looks up the Savable class a file names) while the model loads.
 */
final class UserClasses {
    private UserClasses() {
    }

    /** Runs {@code load} with the classes of {@code classpath} visible (null: as it is). */
    static <T> T with(String classpath, Supplier<T> load) {
        if (classpath == null) {
            return load.get();
        }
        List<URL> urls = new ArrayList<>();
        for (String entry : classpath.split(File.pathSeparator)) {
            if (entry.isBlank()) {
                continue;
            }
            Path p = Path.of(entry);
            if (!Files.isDirectory(p) && !(Files.isRegularFile(p) && entry.endsWith(".jar"))) {
                throw new FormatException(p, -1, "--classpath: not a class folder or a .jar file");
            }
            try {
                urls.add(p.toUri().toURL());
            } catch (MalformedURLException e) {
                throw new FormatException(p, -1, "--classpath: " + e.getMessage(), e);
            }
        }
        Thread t = Thread.currentThread();
        ClassLoader saved = t.getContextClassLoader();
        // Not closed: the loaded model may load more of its classes (nested records, lambdas) while it runs.
        URLClassLoader loader = new URLClassLoader(urls.toArray(URL[]::new),
                saved != null ? saved : UserClasses.class.getClassLoader());
        try {
            t.setContextClassLoader(loader);
            return load.get();
        } finally {
            t.setContextClassLoader(saved);
        }
    }
}
