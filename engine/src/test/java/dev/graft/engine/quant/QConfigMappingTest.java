package dev.graft.engine.quant;

import dev.graft.engine.nn.Identity;
import dev.graft.engine.nn.Linear;
import dev.graft.engine.nn.ReLU;
import dev.graft.engine.quant.observe.HistogramObserver;
import dev.graft.engine.quant.observe.Observer;
import dev.graft.engine.quant.observe.PerChannelMinMaxObserver;
import dev.graft.engine.quant.qat.FakeQuantize;
import dev.graft.ops.Op;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class QConfigMappingTest {

    private static final QConfig A = QConfig.x86Default();
    private static final QConfig B = QConfig.dynamicDefault();
    private static final QConfig C = QConfig.qatDefault();
    private static final Op ADD = new Op("test_add", Op.Kind.BINARY) {
        @Override
        protected Object compute(Object[] args) {
            throw new UnsupportedOperationException();
        }
    };
    private static final Op MUL = new Op("test_mul", Op.Kind.BINARY) {
        @Override
        protected Object compute(Object[] args) {
            throw new UnsupportedOperationException();
        }
    };

    private final Linear linear = new Linear(2, 2, true, new Random(1));
    private final ReLU relu = new ReLU();

    @Test
    void emptyMappingKeepsEverythingFp32() {
        QConfigMapping m = new QConfigMapping();
        assertNull(m.qconfigFor("fc", linear));
        assertNull(m.qconfigFor("", ADD));
    }

    @Test
    void moduleNameBeatsClassBeatsGlobal() {
        QConfigMapping m = new QConfigMapping().global(A).byModuleClass(Linear.class, B).byModuleName("head.fc", C);
        assertSame(A, m.qconfigFor("body.act", relu));
        assertSame(B, m.qconfigFor("body.fc", linear));
        assertSame(C, m.qconfigFor("head.fc", linear));
        assertSame(C, m.qconfigFor("head.fc", relu));
    }

    @Test
    void moduleNameAppliesToSubmodulesUnlessOverridden() {
        QConfigMapping m = new QConfigMapping().global(A).byModuleName("encoder", B).byModuleName("encoder.layer.1", C)
                .byModuleClass(ReLU.class, A);
        assertSame(B, m.qconfigFor("encoder.layer.0.fc", linear));
        assertSame(B, m.qconfigFor("encoder.layer.0.act", relu)); // name beats class, also by prefix
        assertSame(C, m.qconfigFor("encoder.layer.1.fc", linear));
        assertSame(A, m.qconfigFor("encoderx.fc", linear)); // a prefix is a whole path component
        assertSame(A, m.qconfigFor("", linear));
    }

    @Test
    void nullIsAnExplicitFp32Setting() {
        QConfigMapping m = new QConfigMapping().global(A).byModuleClass(ReLU.class, null).byModuleName("head", null)
                .byModuleName("head.keep", B).byOperator(MUL, null);
        assertNull(m.qconfigFor("body.act", relu));
        assertNull(m.qconfigFor("head.fc", linear));
        assertSame(B, m.qconfigFor("head.keep", linear));
        assertNull(m.qconfigFor("body", MUL));
        assertSame(A, m.qconfigFor("body", ADD));
    }

    @Test
    void operatorsUseEnclosingModuleNameThenOperatorThenGlobal() {
        QConfigMapping m = new QConfigMapping().global(A).byOperator(ADD, B).byModuleName("head", C);
        assertSame(B, m.qconfigFor("", ADD));
        assertSame(B, m.qconfigFor("body.block", ADD));
        assertSame(A, m.qconfigFor("body.block", MUL));
        assertSame(C, m.qconfigFor("head.block", ADD));
    }

    @Test
    void classMatchesNearestRegisteredSuperclass() {
        class MyIdentity extends Identity {
        }
        QConfigMapping m = new QConfigMapping().byModuleClass(Identity.class, B);
        assertSame(B, m.qconfigFor("x", new MyIdentity()));
        assertThrows(IllegalArgumentException.class, () -> m.byModuleName("", A));
    }

    @Test
    void defaultsMatchPytorchX86() {
        Observer act = (Observer) A.createActivation();
        assertInstanceOf(HistogramObserver.class, act);
        assertEquals(QDType.QUINT8, act.spec().dtype());
        assertEquals(127, act.spec().quantMax());
        Observer w = (Observer) A.createWeight();
        assertInstanceOf(PerChannelMinMaxObserver.class, w);
        assertEquals(QScheme.PER_CHANNEL_SYMMETRIC, w.spec().scheme());
        assertEquals(-128, w.spec().quantMin());
        assertNotSame(A.createActivation(), A.createActivation()); // fresh observers each time
        assertFalse(A.isDynamic());
        assertTrue(B.isDynamic());
        assertInstanceOf(FakeQuantize.class, C.createActivation());
        assertSame(QConfigMapping.x86Default().qconfigFor("a", linear).getClass(), QConfig.class);
    }
}
