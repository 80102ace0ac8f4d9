package dev.graft.formats.data;

import dev.graft.engine.io.FormatException;
import dev.graft.formats.image.Images;
import dev.graft.formats.onnx.OnnxDataType;
import dev.graft.formats.onnx.OnnxGraph;
import dev.graft.formats.onnx.OnnxNode;
import dev.graft.formats.onnx.OnnxStateDict;
import dev.graft.formats.onnx.OnnxTensor;
import dev.graft.formats.tfjs.TfjsGraph;
import dev.graft.formats.tfjs.TfjsGraphModule;
import org.junit.jupiter.api.Test;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.zip.CRC32;
import java.util.zip.GZIPOutputStream;
import javax.imageio.ImageIO;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The hostile inputs of issue 17, one by one: each is refused with a FormatException naming the file and the place,
 * quickly and without allocating what the file merely declares.
 */
class HostileInputTest {
    private static final Path FILE = Path.of("hostile");

    private static void refused(String expected, Runnable load) {
        FormatException e = assertTimeoutPreemptively(java.time.Duration.ofSeconds(10),
                () -> assertThrows(FormatException.class, load::run));
        assertTrue(e.getMessage().startsWith("hostile") && e.getMessage().contains(expected), e.getMessage());
    }

    @Test
    void anIdxHeaderDeclaringTwoGigabytesIsRefusedBeforeAllocating() {
        byte[] header = {0, 0, 8, 3, 0x7F, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 28};   // 2^31 / 2^8 images of 28x28
        refused("is too large", () -> IdxReader.read(new ByteArrayInputStream(header), FILE, Integer.MAX_VALUE));
        // 200,000 images (157 MB) declared in 16 bytes: refused when the data run out, having held at most 1 MiB.
        byte[] small = {0, 0, 8, 3, 0, 3, 0x0D, 0x40, 0, 0, 0, 28, 0, 0, 0, 28};
        refused("only 0 present", () -> IdxReader.read(new ByteArrayInputStream(small), FILE, Integer.MAX_VALUE));
    }

    @Test
    void aGzipBombOfArffIsRefusedAtTheCap() throws Exception {
        String old = System.setProperty("graft.limit.bytes", "4m");
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (GZIPOutputStream z = new GZIPOutputStream(out)) {
                z.write("@relation r\n@attribute Text string\n@data\n".getBytes(StandardCharsets.UTF_8));
                z.write(new byte[16 << 20]);
            }
            refused("inflates to more than", () -> ArffReader.read(out.toByteArray(), FILE));
        } finally {
            restore("graft.limit.bytes", old);
        }
    }

    @Test
    void arffWithoutTheExpectedAttributeNamesIt() {
        ArffDataset d = ArffReader.parse("@relation r\n@attribute x numeric\n@data\n1\n", FILE);
        refused("no attribute 'Text'", () -> d.strings("Text"));
        refused("is numeric", () -> d.strings("x"));
        refused("not nominal", () -> d.nominalIndices("x"));
    }

    @Test
    void anImageIsMeasuredFromItsHeaderBeforeDecoding() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(new BufferedImage(4, 4, BufferedImage.TYPE_INT_RGB), "png", out);
        byte[] png = out.toByteArray();
        ByteBuffer b = ByteBuffer.wrap(png);
        b.putInt(16, 100_000).putInt(20, 100_000);        // IHDR width and height
        CRC32 crc = new CRC32();
        crc.update(png, 12, 17);                           // "IHDR" and its 13 data bytes
        b.putInt(29, (int) crc.getValue());
        refused("pixels", () -> Images.read(new ByteArrayInputStream(png), "hostile"));
        refused("not an image", () -> Images.read(new ByteArrayInputStream(new byte[] {1, 2, 3}), "hostile"));
    }

    /**
     * A GIF of a few hundred bytes whose screen and frame declare 60000 x 60000 (3.6 Gpixel): the frame's size is
     * read from its image descriptor and refused before the decoder allocates a raster.
     */
    @Test
    void aSmallGifDeclaringAHugeFrameIsRefusedFromItsHeader() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(new BufferedImage(4, 4, BufferedImage.TYPE_INT_RGB), "gif", out);
        byte[] gif = out.toByteArray();
        ByteBuffer b = ByteBuffer.wrap(gif).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putShort(6, (short) 60000).putShort(8, (short) 60000);            // logical screen
        int at = 13 + ((gif[10] & 0x80) != 0 ? 3 << ((gif[10] & 7) + 1) : 0);   // after the global colour table
        while (gif[at] == 0x21) {                                           // extensions: label, then sub-blocks
            at += 2;
            while (gif[at] != 0) {
                at += (gif[at] & 0xFF) + 1;
            }
            at++;
        }
        assertTrue(gif[at] == 0x2C, "image descriptor found");
        b.putShort(at + 5, (short) 60000).putShort(at + 7, (short) 60000);  // the frame's width and height
        refused("pixels", () -> Images.read(new ByteArrayInputStream(gif), "hostile"));
    }

    @Test
    void onnxStringInitializersAndABareMatMulAreNamed() {
        OnnxTensor text = new OnnxTensor("vocab", OnnxDataType.STRING, new long[] {1}, null,
                List.of("a".getBytes(StandardCharsets.UTF_8)));
        refused("initializer 'vocab'", () -> OnnxStateDict.fromGraph(graph(List.of(), List.of(text)), FILE));
        OnnxTensor w = OnnxTensor.ofFloats("onnx::MatMul_1", new float[4], 2, 2);
        OnnxNode bare = new OnnxNode("/MatMul", "MatMul", "", List.of("x", "onnx::MatMul_1"), List.of("y"), Map.of());
        refused("names no module path", () -> OnnxStateDict.fromGraph(graph(List.of(bare), List.of(w)), FILE));
    }

    private static OnnxGraph graph(List<OnnxNode> nodes, List<OnnxTensor> inits) {
        return new OnnxGraph("g", nodes, inits, List.of(), List.of(), List.of());
    }

    @Test
    void tfjsManifestsThatRepeatAShardOrMistypeAnAttributeAreRefused() {
        String node = "{\"name\":\"x\",\"op\":\"Placeholder\",\"attr\":{\"dtype\":{\"type\":\"DT_FLOAT\"}}}";
        String repeated = "{\"modelTopology\":{\"node\":[" + node + "]},\"weightsManifest\":[{\"paths\":["
                + "\"w.bin\",\"w.bin\"],\"weights\":[]}]}";
        refused("listed twice", () -> read(repeated));
        String badAttr = "{\"modelTopology\":{\"node\":[" + node + ",{\"name\":\"c\",\"op\":\"ConcatV2\","
                + "\"input\":[\"x\"],\"attr\":{\"N\":{\"i\":{}}}}]}}";
        refused("attribute 'N': expected an integer", () -> read(badAttr));
        String noInputs = "{\"modelTopology\":{\"node\":[" + node + ",{\"name\":\"c\",\"op\":\"ConcatV2\"}]}}";
        refused("needs at least", () -> new TfjsGraphModule(read(noInputs)));
        // Found by the fuzzer (tfjs input 72657: "input" turned into "nput"): a MaxPool without inputs.
        String poolWithoutInput = "{\"modelTopology\":{\"node\":[" + node + ",{\"name\":\"m\",\"op\":\"MaxPool\","
                + "\"attr\":{\"ksize\":{\"list\":{\"i\":[\"1\",\"2\",\"2\",\"1\"]}},\"strides\":{\"list\":{\"i\":"
                + "[\"1\",\"2\",\"2\",\"1\"]}},\"padding\":{\"s\":\"VkFMSUQ=\"}}}]}}";
        refused("node 'm'", () -> new TfjsGraphModule(read(poolWithoutInput)));
        refused("needs at least 1 inputs, has 0", () -> new TfjsGraphModule(read(poolWithoutInput)));
        String hugePad = "{\"modelTopology\":{\"node\":[" + node + ",{\"name\":\"p\",\"op\":\"Const\",\"attr\":{"
                + "\"dtype\":{\"type\":\"DT_INT32\"}}},{\"name\":\"y\",\"op\":\"Pad\",\"input\":[\"x\",\"p\"]}]},"
                + "\"weightsManifest\":[{\"paths\":[\"w.bin\"],\"weights\":[{\"name\":\"p\",\"shape\":[4,2],"
                + "\"dtype\":\"int32\"}]}]}";
        ByteBuffer pads = ByteBuffer.allocate(32).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        pads.putInt(0).putInt(0).putInt(1_000_000).putInt(0).putInt(0).putInt(0).putInt(0).putInt(0);
        refused("paddings", () -> new TfjsGraphModule(read(hugePad, pads.array())));
    }

    private static TfjsGraph read(String json) {
        return read(json, new byte[0]);
    }

    private static TfjsGraph read(String json, byte[] shard) {
        Supplier<ByteArrayInputStream> s = () -> new ByteArrayInputStream(shard);
        return TfjsGraph.read(new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)), FILE,
                p -> s.get());
    }

    private static void restore(String key, String old) {
        if (old == null) {
            System.clearProperty(key);
        } else {
            System.setProperty(key, old);
        }
    }
}
