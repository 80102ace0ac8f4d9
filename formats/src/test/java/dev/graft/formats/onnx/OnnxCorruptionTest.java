package dev.graft.formats.onnx;

import dev.graft.engine.io.FormatException;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Truncated and corrupted files give {@link FormatException} with the offset and field, never another exception,
 * an OutOfMemoryError or a hang.
 */
class OnnxCorruptionTest {

    static List<byte[]> smallModels() {
        return List.of(OnnxWriter.write(OnnxRoundTripTest.convModel()),
                OnnxWriter.write(OnnxRoundTripTest.matMulIntegerModel()));
    }

    @Test
    void everyPrefixTruncationIsAFormatException() {
        for (byte[] file : smallModels()) {
            for (int n = 0; n < file.length; n++) {
                byte[] prefix = Arrays.copyOf(file, n);
                try {
                    OnnxReader.read(prefix);
                    fail("a prefix of " + n + " of " + file.length + " bytes was read as a whole model");
                } catch (FormatException e) {
                    assertTrue(e.offset() >= 0 && e.offset() <= n, "offset " + e.offset() + " within the prefix " + n);
                }
            }
        }
    }

    @Test
    void bitFlipsGiveAModelOrAFormatExceptionQuickly() {
        Random rng = new Random(2024);
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            for (byte[] file : smallModels()) {
                for (int trial = 0; trial < 3000; trial++) {
                    byte[] bad = file.clone();
                    int flips = 1 + rng.nextInt(3);
                    for (int f = 0; f < flips; f++) {
                        int at = rng.nextInt(bad.length);
                        bad[at] ^= (byte) (1 << rng.nextInt(8));
                    }
                    readOrFormatException(bad);
                }
            }
        });
    }

    @Test
    void randomBytesGiveAFormatException() {
        Random rng = new Random(7);
        for (int trial = 0; trial < 2000; trial++) {
            byte[] junk = new byte[rng.nextInt(200)];
            rng.nextBytes(junk);
            readOrFormatException(junk);
        }
    }

    private static void readOrFormatException(byte[] bytes) {
        try {
            OnnxModel m = OnnxReader.read(bytes);
            // Whatever was read must be usable: converting every initializer must not blow up unexpectedly.
            for (OnnxTensor t : m.graph().initializers()) {
                if (t.dataType() != OnnxDataType.STRING && t.dataType() != OnnxDataType.COMPLEX64
                        && t.dataType() != OnnxDataType.COMPLEX128) {
                    t.toTensor();
                }
            }
        } catch (FormatException expected) {
            // fine
        }
    }

    @Test
    void rawDataLongerThanTheFileNamesFieldAndOffset() {
        // TensorProto with raw_data claiming 1200 bytes where only a few remain.
        ProtoWriter tensor = new ProtoWriter().varint(1, 300).varint(2, 1).string(8, "w");
        byte[] body = tensor.toByteArray();
        byte[] withRaw = Arrays.copyOf(body, body.length + 4);
        withRaw[body.length] = 9 << 3 | 2;          // field 9, length-delimited
        withRaw[body.length + 1] = (byte) 0xB0;     // 1200 as a varint: 0xB0 0x09
        withRaw[body.length + 2] = 0x09;
        withRaw[body.length + 3] = 1;
        byte[] graph = new ProtoWriter().bytes(5, withRaw).toByteArray();
        byte[] model = new ProtoWriter().varint(1, 8).bytes(7, graph).toByteArray();
        FormatException e = assertThrows(FormatException.class, () -> OnnxReader.read(model));
        assertTrue(e.getMessage().contains("TensorProto.raw_data length 1200 exceeds remaining 1 bytes"),
                e.getMessage());
        assertTrue(e.offset() > 0);
    }

    @Test
    void hugeDimsWithLittleDataAreRefusedWithoutAllocating() {
        ProtoWriter t = new ProtoWriter().packedVarints(1, new long[] {1L << 20, 1L << 20, 1L << 20}).varint(2, 1)
                .string(8, "big").bytes(9, new byte[16]);
        FormatException e = assertThrows(FormatException.class,
                () -> OnnxReader.read(OnnxRoundTripTest.modelWithTensor(t)));
        assertTrue(e.getMessage().contains("TensorProto 'big'"), e.getMessage());

        ProtoWriter t2 = new ProtoWriter().packedVarints(1, new long[] {1000, 1000}).varint(2, 1).string(8, "w")
                .bytes(9, new byte[16]);
        FormatException e2 = assertThrows(FormatException.class,
                () -> OnnxReader.read(OnnxRoundTripTest.modelWithTensor(t2)));
        assertTrue(e2.getMessage().contains("raw_data holds 16 bytes but dims [1000, 1000] of FLOAT need 4000000"),
                e2.getMessage());
    }

    @Test
    void graphsNestedTooDeeplyAreRefused() {
        ProtoWriter graph = new ProtoWriter().string(2, "leaf");
        for (int depth = 0; depth < OnnxReader.MAX_GRAPH_DEPTH + 3; depth++) {
            ProtoWriter attribute = new ProtoWriter().string(1, "then_branch").message(6, graph).varint(20, 5);
            ProtoWriter node = new ProtoWriter().string(4, "If").message(5, attribute);
            graph = new ProtoWriter().message(1, node);
        }
        byte[] model = new ProtoWriter().varint(1, 8).message(7, graph).message(8, new ProtoWriter().varint(2, 13))
                .toByteArray();
        FormatException e = assertThrows(FormatException.class, () -> OnnxReader.read(model));
        assertTrue(e.getMessage().contains("nested deeper"), e.getMessage());
    }

    @Test
    void wrongWireTypesAndBadEnumsAreNamed() {
        byte[] wrongWire = new ProtoWriter().string(1, "not a varint").toByteArray();
        FormatException e = assertThrows(FormatException.class, () -> OnnxReader.read(wrongWire));
        assertTrue(e.getMessage().contains("ModelProto.ir_version"), e.getMessage());

        ProtoWriter t = new ProtoWriter().varint(2, 999).string(8, "odd");
        FormatException e2 = assertThrows(FormatException.class,
                () -> OnnxReader.read(OnnxRoundTripTest.modelWithTensor(t)));
        assertTrue(e2.getMessage().contains("data_type 999"), e2.getMessage());

        assertThrows(FormatException.class, () -> OnnxReader.read(new byte[0]));
        byte[] endGroup = {(byte) (1 << 3 | 4)};
        FormatException e3 = assertThrows(FormatException.class, () -> OnnxReader.read(endGroup));
        assertTrue(e3.getMessage().contains("wire type 4"), e3.getMessage());
    }
}
