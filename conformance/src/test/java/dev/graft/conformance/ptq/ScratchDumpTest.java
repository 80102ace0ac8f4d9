package dev.graft.conformance.ptq;

import dev.graft.conformance.ReutersSentences;
import dev.graft.conformance.SharedData;
import dev.graft.engine.graph.GraphModule;
import dev.graft.engine.trace.Partition;
import dev.graft.engine.trace.Partitioner;
import dev.graft.formats.image.Images;
import dev.graft.formats.models.MiniLm;
import dev.graft.formats.text.BertTokenizer;
import dev.graft.formats.tfjs.NanoDetFiles;
import dev.graft.models.bert.BertModel;
import dev.graft.models.mnist.MnistCnn;
import dev.graft.models.nanodet.NanoDetDetector;
import dev.graft.ops.Tensor;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

class ScratchDumpTest {
    @Test
    void dump() {
        BertModel m = MiniLm.load();
        BertTokenizer.Batch b = MiniLm.tokenizer().encodeBatch(ReutersSentences.firstSentences(2));
        Partition p = Partitioner.partition(m, b.inputIds(), b.attentionMask(), b.tokenTypeIds());
        System.out.println(p.describe());
        for (var e : p.blocks().entrySet()) {
            System.out.println("BLOCK " + e.getKey() + "\n" + e.getValue().graph().toTable());
            if (e.getKey().contains("layer")) break;
        }
        MnistCnn cnn = new MnistCnn(0.9f);
        cnn.eval();
        Partition pc = Partitioner.partition(cnn, Tensor.zeros(2, 1, 28, 28));
        System.out.println(pc.describe());
        for (var e : pc.blocks().entrySet()) {
            System.out.println("BLOCK " + e.getKey() + "\n" + e.getValue().graph().toTable());
        }
        Path dir = SharedData.file("data/detect/nanodet.json").get().getParent();
        NanoDetDetector det = NanoDetFiles.load(dir.resolve("nanodet.json"), dir.resolve("coco.names"), NanoDetDetector.Options.defaults());
        Images.Fitted fitted = Images.letterbox(Images.read(dir.resolve("dog.jpg")), 416);
        Partition pn = Partitioner.partition(det, fitted.tensor(), fitted.letterbox().photoWidth(), fitted.letterbox().photoHeight());
        System.out.println(pn.describe());
        for (var e : pn.blocks().entrySet()) {
            System.out.println("BLOCK " + e.getKey() + "\n" + e.getValue().graph().toTable());
            System.out.println(e.getValue());
        }
    }
}
