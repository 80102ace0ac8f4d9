package dev.graft.engine.trace;

import dev.graft.ops.Tensor;
import dev.graft.testmodels.ControlFlowModels;
import org.junit.jupiter.api.Test;
import java.util.Random;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PartitionPictureTest {

    @Test
    void svgHasOneBoxPerModuleShadedByStatusAndNamesTheReason() {
        ControlFlowModels.EarlyExit model = new ControlFlowModels.EarlyExit(4, 3, 100f, 5);
        Partition p = Partitioner.partition(model, Tensor.randn(new Random(1), 2, 4));
        String svg = PartitionPicture.svg("early exit <test>", p);
        // background + root + layers container + 3 layers
        assertEquals(1 + p.tree().flatten().size(), count(svg, "<rect "));
        assertEquals(3, count(svg, "fill=\"#cdebd0\""), "the three layers are shaded as traced");
        assertEquals(count(svg, "<text "), count(svg, "</text>"));
        assertTrue(svg.startsWith("<svg ") && svg.endsWith("</svg>\n"));
        var texts = Pattern.compile("<text[^>]*>([^<]*)</text>").matcher(svg);
        int bodies = 0;
        while (texts.find()) {
            bodies++;
            String body = texts.group(1);
            assertTrue(!body.contains(">") && !body.contains("\"")
                    && body.replaceAll("&(lt|gt|amp|quot);", "").indexOf('&') < 0, "escaped: " + body);
        }
        assertEquals(count(svg, "<text "), bodies, "every text element holds plain escaped text");
        assertTrue(svg.contains("early exit &lt;test&gt;"), "titles are escaped");
        assertTrue(svg.contains("data-dependent control flow: item() on a traced tensor at ControlFlowModels.java:"),
                svg);
        String html = PartitionPicture.html("early exit", p);
        assertTrue(html.startsWith("<!DOCTYPE html>") && html.contains("<svg") && html.contains("Partition tree"));
    }

    private static int count(String s, String needle) {
        int n = 0;
        for (int i = s.indexOf(needle); i >= 0; i = s.indexOf(needle, i + 1)) {
            n++;
        }
        return n;
    }
}
