package dev.graft.engine.save;

import dev.graft.ops.DType;
import dev.graft.ops.QParams;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Saved values come back with their Java type and, for floats, their exact bits (NaN payloads aside). */
class ValuesTest {

    private static Object roundTrip(Object v) {
        return Values.decode(Values.encode(v, null, "test"), null, "test");
    }

    @Property(tries = 2000)
    void everyFloatBitPatternSurvives(@ForAll int bits) {
        float f = Float.intBitsToFloat(bits);
        Object back = roundTrip(f);
        assertTrue(back instanceof Float, "type kept");
        if (Float.isNaN(f)) {
            assertTrue(Float.isNaN((Float) back));
        } else {
            assertEquals(Float.floatToRawIntBits(f), Float.floatToRawIntBits((Float) back), "bits of " + f);
        }
    }

    @Property(tries = 300)
    void doublesLongsAndArraysSurvive(@ForAll long bits, @ForAll int[] ints, @ForAll float[] floats) {
        double d = Double.longBitsToDouble(bits);
        Object back = roundTrip(d);
        assertTrue(back instanceof Double);
        if (!Double.isNaN(d)) {
            assertEquals(Double.doubleToRawLongBits(d), Double.doubleToRawLongBits((Double) back));
        }
        assertEquals(bits, roundTrip(bits));
        assertArrayEquals(ints, (int[]) roundTrip(ints));
        float[] f = (float[]) roundTrip(floats);
        for (int i = 0; i < floats.length; i++) {
            assertTrue(Float.compare(floats[i], f[i]) == 0 || Float.isNaN(floats[i]) && Float.isNaN(f[i]));
        }
    }

    @Test
    void typesThatJsonWouldConfuseStayApart() {
        assertEquals(3, roundTrip(3));
        assertEquals(3f, roundTrip(3f));
        assertEquals(3L, roundTrip(3L));
        assertEquals(3.0, roundTrip(3.0));
        assertEquals(DType.UINT8, roundTrip(DType.UINT8));
        assertEquals(Thread.State.RUNNABLE, roundTrip(Thread.State.RUNNABLE));
        assertEquals(List.of(1, "a", true), roundTrip(List.of(1, "a", true)));
        assertEquals(Map.of("k", 2f), roundTrip(Map.of("k", 2f)));
        QParams.PerChannel pc = new QParams.PerChannel(new float[] {0.5f, 1e-7f}, new int[] {0, 3}, 1);
        QParams.PerChannel back = (QParams.PerChannel) roundTrip(pc);
        assertArrayEquals(pc.scales(), back.scales());
        assertArrayEquals(pc.zeroPoints(), back.zeroPoints());
        assertEquals(1, back.axis());
        assertEquals(new QParams.PerTensor(0.1f, 7), roundTrip(new QParams.PerTensor(0.1f, 7)));
    }

    @Test
    void badInputIsNamed() {
        assertThrows(SavedModelException.class, () -> Values.encode(new Object(), null, "x"));
        SavedModelException e = assertThrows(SavedModelException.class,
                () -> Values.decode(Map.of("f32", "zero"), null, "node 'add'"));
        assertTrue(e.getMessage().startsWith("node 'add'"), e.getMessage());
        assertThrows(SavedModelException.class, () -> Values.decode(Map.of("enum", "java.lang.String", "value", "X"),
                null, "x"));
        assertThrows(SavedModelException.class, () -> Values.decode(2.5, null, "x"), "an untagged double");
        assertTrue(Arrays.asList(1, 2).equals(roundTrip(List.of(1, 2))));
    }
}
