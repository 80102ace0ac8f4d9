package dev.graft.cli;

/** Bad command-line usage: reported in one line with exit code 2. */
final class UsageException extends RuntimeException {
    UsageException(String message) {
        super(message);
    }
}
