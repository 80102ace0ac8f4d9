package dev.graft.engine;

/**
 * Sees every {@link Module#callAny} on the thread that installed it (see {@link Module#interceptCalls}). The tracer
 * uses it to turn leaf modules into {@code call_module} nodes and to trace through the others. An interceptor
 * either returns a value of its own or calls {@code proceed} to run the module as usual.
 */
@FunctionalInterface
public interface ModuleCallInterceptor {

    /** Runs the module (its hooks and forward) on the given inputs. */
    @FunctionalInterface
    interface Proceed {
        Object run(Object[] inputs);
    }

    Object intercept(Module module, Object[] inputs, Proceed proceed);
}
