package dev.graft.models.nanodet;

import org.junit.jupiter.api.Test;

import java.awt.Rectangle;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Detection tags drawn onto a photo do not overlap each other and stay inside the picture. */
class DetectionLabelsTest {
    private static void assertDisjointInside(List<Rectangle> places, int w, int h) {
        for (int i = 0; i < places.size(); i++) {
            Rectangle a = places.get(i);
            assertTrue(a.x >= 0 && a.y >= 0 && a.x + a.width <= w && a.y + a.height <= h, "inside: " + a);
            for (int j = i + 1; j < places.size(); j++) {
                assertFalse(a.intersects(places.get(j)), "tags " + i + " and " + j + " overlap: " + a + " "
                        + places.get(j));
            }
        }
    }

    @Test
    void crowdedBoxesGetSeparateTags() {
        // Like dog.jpg's bicycle, dog and truck: boxes whose top-left corners are close or equal.
        List<Detection> ds = new ArrayList<>();
        ds.add(new Detection(1, "bicycle", 0.91f, 120, 130, 560, 420));
        ds.add(new Detection(16, "dog", 0.88f, 130, 140, 310, 540));
        ds.add(new Detection(7, "truck", 0.62f, 120, 132, 650, 170));
        ds.add(new Detection(2, "car", 0.41f, 460, 0, 700, 160));       // at the top edge: no room above
        ds.add(new Detection(0, "person", 0.35f, 0, 500, 60, 576));     // at the bottom edge
        for (int i = 0; i < 6; i++) {                                   // six boxes on one spot
            ds.add(new Detection(3, "motorcycle", 0.3f - i * 0.01f, 300, 300, 400, 400));
        }
        int[] widths = new int[ds.size()];
        for (int i = 0; i < widths.length; i++) {
            widths[i] = 12 * ds.get(i).label().length() + 40;
        }
        List<Rectangle> places = NanoDetImages.labelPlaces(ds, widths, 18, 768, 576);
        assertEquals(ds.size(), places.size());
        assertDisjointInside(places, 768, 576);
        assertEquals(new Rectangle(120, 130 - 18, widths[0], 18), places.get(0), "the first tag sits above its box");
    }

    @Test
    void drawingKeepsThePhotoSize() {
        BufferedImage photo = new BufferedImage(320, 240, BufferedImage.TYPE_INT_RGB);
        List<Detection> ds = List.of(new Detection(16, "dog", 0.68f, 10, 10, 200, 200),
                new Detection(1, "bicycle", 0.6f, 12, 12, 300, 230));
        BufferedImage out = NanoDetImages.drawDetections(photo, ds);
        assertEquals(320, out.getWidth());
        assertEquals(240, out.getHeight());
    }
}
