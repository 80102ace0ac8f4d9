package dev.graft.engine.quant;

/** How scale and zero point are derived from a range, and whether there is one pair per tensor or per channel. */
public enum QScheme {
    PER_TENSOR_AFFINE(false, false),
    PER_TENSOR_SYMMETRIC(false, true),
    PER_CHANNEL_AFFINE(true, false),
    PER_CHANNEL_SYMMETRIC(true, true);

    private final boolean perChannel;
    private final boolean symmetric;

    QScheme(boolean perChannel, boolean symmetric) {
        this.perChannel = perChannel;
        this.symmetric = symmetric;
    }

    public boolean isPerChannel() {
        return perChannel;
    }

    public boolean isSymmetric() {
        return symmetric;
    }
}
