package dev.graft.engine;

/** Root of the engine's unchecked exceptions; messages name the module path, parameter or node involved. */
public class ModuleException extends RuntimeException {
    public ModuleException(String message) {
        super(message);
    }

    public ModuleException(String message, Throwable cause) {
        super(message, cause);
    }
}
