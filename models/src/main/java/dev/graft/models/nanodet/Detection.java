package dev.graft.models.nanodet;

/**
 * One detected object: the class (index and label), the score in [0, 1] and the box in photo pixels
 * ({@code x1,y1} top-left, {@code x2,y2} bottom-right).
 */
public record Detection(int classId, String label, float score, float x1, float y1, float x2, float y2) {

    public float width() {
        return Math.max(0f, x2 - x1);
    }

    public float height() {
        return Math.max(0f, y2 - y1);
    }

    public float area() {
        return width() * height();
    }

    /** Intersection over union with another box (0 when either is empty). */
    public float iou(Detection other) {
        return iou(x1, y1, x2, y2, other.x1, other.y1, other.x2, other.y2);
    }

    /**
     * How many of {@code candidates} match a {@code reference} detection, greedily: candidates by falling score,
     * each takes the unmatched reference box of its class with the best IoU, at least {@code minIou}. (How INT8
     * detections are compared with FP32's: precision = matched / candidates, recall = matched / references.)
     */
    public static int countMatches(java.util.List<Detection> candidates, java.util.List<Detection> reference,
                                   float minIou) {
        boolean[] used = new boolean[reference.size()];
        int matched = 0;
        java.util.List<Detection> byScore = new java.util.ArrayList<>(candidates);
        byScore.sort((a, b) -> Float.compare(b.score(), a.score()));
        for (Detection d : byScore) {
            int best = -1;
            float bestIou = minIou;
            for (int j = 0; j < reference.size(); j++) {
                Detection f = reference.get(j);
                if (!used[j] && f.classId() == d.classId() && f.iou(d) >= bestIou) {
                    best = j;
                    bestIou = f.iou(d);
                }
            }
            if (best >= 0) {
                used[best] = true;
                matched++;
            }
        }
        return matched;
    }

    static float iou(float ax1, float ay1, float ax2, float ay2, float bx1, float by1, float bx2, float by2) {
        float iw = Math.min(ax2, bx2) - Math.max(ax1, bx1);
        float ih = Math.min(ay2, by2) - Math.max(ay1, by1);
        if (iw <= 0f || ih <= 0f) {
            return 0f;
        }
        float inter = iw * ih;
        float union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter;
        return union <= 0f ? 0f : inter / union;
    }

    @Override
    public String toString() {
        return String.format("%s %.3f [%.0f, %.0f, %.0f, %.0f]", label, score, x1, y1, x2, y2);
    }
}
