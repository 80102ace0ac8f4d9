package dev.graft.models.nanodet;

import dev.graft.engine.ProgressListener;
import dev.graft.engine.quant.passes.StaticQuantizer;
import dev.graft.engine.trace.Partition;
import dev.graft.models.QuantizedModel;

import java.util.List;

/** How NanoDet is quantized for the results table ({@code docs/RESULTS.md}): static INT8, x86 defaults. */
public final class NanoDetRecipes {
    /** The photos (of the detection data set) the static recipe calibrates on; F1 is measured on every photo. */
    public static final List<String> CALIBRATION_PHOTOS = List.of("dog.jpg", "giraffe.jpg", "horses.jpg",
            "person.jpg");

    private NanoDetRecipes() {
    }

    /**
     * Static INT8 with histogram observers; the preprocessing (pixel normalization, its input is raw 0..255 pixels)
     * stays FP32: see {@code NanoDetStaticQuantizationTest}.
     */
    public static QuantizedModel staticInt8(Partition p, List<Object[]> calibration, ProgressListener progress) {
        StaticQuantizer.Prepared prepared = StaticQuantizer.prepare(p,
                StaticQuantizer.defaultMapping().byModuleName("preprocess", null));
        StaticQuantizer.calibrate(prepared, calibration, progress);
        return new QuantizedModel(p, StaticQuantizer.convert(prepared), "static INT8, histogram observers, "
                + calibration.size() + " calibration photos");
    }
}
