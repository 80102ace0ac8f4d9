package dev.graft.engine.trace;

import java.util.Set;

/** Finds the user's line in the current stack: the first frame outside Graft's framework packages and the JDK. */
final class SourceLocation {
    private static final Set<String> FRAMEWORK_PACKAGES = Set.of(
            "dev.graft.kernels", "dev.graft.ops", "dev.graft.engine", "dev.graft.engine.nn",
            "dev.graft.engine.graph", "dev.graft.engine.trace");

    private SourceLocation() {
    }

    static String userFrame() {
        return StackWalker.getInstance().walk(frames -> frames
                .filter(f -> !isFramework(f.getClassName()))
                .findFirst()
                .map(f -> (f.getFileName() == null ? "?" : f.getFileName()) + ":" + f.getLineNumber() + " ("
                        + simpleName(f.getClassName()) + "." + f.getMethodName() + ")")
                .orElse("unknown"));
    }

    private static boolean isFramework(String className) {
        if (className.startsWith("java.") || className.startsWith("jdk.") || className.startsWith("sun.")) {
            return true;
        }
        int dot = className.lastIndexOf('.');
        return dot > 0 && FRAMEWORK_PACKAGES.contains(className.substring(0, dot));
    }

    private static String simpleName(String className) {
        String simple = className.substring(className.lastIndexOf('.') + 1);
        return simple.substring(simple.lastIndexOf('$') + 1);
    }
}
