package dev.graft.engine.save;

import java.util.Map;

/**
 * A model whose imperative code (the glue around its traced blocks) can be rebuilt from a configuration, so a
 * quantized model can be saved and loaded. A saved file names the glue's class and stores {@link #saveConfig()};
 * loading calls the class's {@code public static <Class> fromConfig(SavedConfig config)}, which builds the model
 * (its traced children may be built as placeholders: the loader grafts the saved blocks in place by path), then
 * restores the glue's own tensors from the file.
 *
 * <pre>{@code
 * public final class MyModel extends Module implements Savable {
 *     public Map<String, Object> saveConfig() { return Map.of("hidden", hidden, "threshold", threshold); }
 *     public static MyModel fromConfig(SavedConfig c) { return new MyModel(c.getInt("hidden"), c.getFloat("threshold")); }
 * }
 * }</pre>
 *
 * <p>Only classes implementing this interface are ever instantiated from a file.
 */
public interface Savable {

    /**
     * What {@code fromConfig} needs, as plain values: Integer, Long, Float, Double, Boolean, String, int[], float[],
     * enums, lists and string-keyed maps of these.
     */
    Map<String, Object> saveConfig();
}
