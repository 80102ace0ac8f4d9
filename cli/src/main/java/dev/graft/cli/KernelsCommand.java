package dev.graft.cli;

import dev.graft.kernels.Kernels;

import java.io.PrintStream;
import java.util.List;

/** Prints which kernel implementations this JVM selected. */
final class KernelsCommand implements Command {
    @Override
    public String name() {
        return "kernels";
    }

    @Override
    public String summary() {
        return "show which GEMM/conv kernels this JVM selected (Vector API or scalar)";
    }

    @Override
    public String usage() {
        return "usage: ./graft kernels\n\nPrints the kernel selection. Force the scalar reference with "
                + "GRAFT_JVM_OPTS=-Dgraft.kernels=scalar.";
    }

    @Override
    public int run(List<String> args, PrintStream out, PrintStream err) {
        Options.spec().parse(args).atMostPositionals(0);
        out.println(Kernels.description());
        return 0;
    }
}
