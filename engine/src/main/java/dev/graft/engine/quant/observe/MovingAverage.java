package dev.graft.engine.quant.observe;

/** The one moving-average step both moving-average observers use. */
final class MovingAverage {
    private MovingAverage() {
    }

    /**
     * {@code running + c * (current - running)} as PyTorch evaluates it on float32 tensors: the Python-float
     * constant is rounded to float32 once, and each operation rounds to float32 (no fused multiply-add).
     */
    static float step(float running, float current, double c) {
        float difference = current - running;
        float moved = (float) c * difference;
        return running + moved;
    }
}
