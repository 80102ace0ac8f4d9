package dev.graft.engine;

import java.util.List;

/** A state dict did not fit a module: lists every missing, unexpected and mis-shaped entry at once. */
public class StateDictException extends ModuleException {
    private final List<String> missing;
    private final List<String> unexpected;
    private final List<String> mismatched;

    public StateDictException(String moduleName, List<String> missing, List<String> unexpected,
                              List<String> mismatched) {
        super(message(moduleName, missing, unexpected, mismatched));
        this.missing = List.copyOf(missing);
        this.unexpected = List.copyOf(unexpected);
        this.mismatched = List.copyOf(mismatched);
    }

    public List<String> missing() {
        return missing;
    }

    public List<String> unexpected() {
        return unexpected;
    }

    public List<String> mismatched() {
        return mismatched;
    }

    private static String message(String moduleName, List<String> missing, List<String> unexpected,
                                  List<String> mismatched) {
        StringBuilder sb = new StringBuilder("state dict does not fit ").append(moduleName).append(':');
        if (!missing.isEmpty()) {
            sb.append("\n  missing: ").append(String.join(", ", missing));
        }
        if (!unexpected.isEmpty()) {
            sb.append("\n  unexpected: ").append(String.join(", ", unexpected));
        }
        if (!mismatched.isEmpty()) {
            sb.append("\n  wrong shape or dtype: ").append(String.join("; ", mismatched));
        }
        return sb.toString();
    }
}
