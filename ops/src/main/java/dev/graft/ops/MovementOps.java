package dev.graft.ops;

import java.util.Arrays;

/**
 * Operators that change geometry (views share storage, no copy) or move data without arithmetic
 * (contiguous, cat, pad, dtype conversion).
 */
public final class MovementOps {
    private MovementOps() {
    }

    /** {@code reshape(x, int[] shape)}: a view when the strides allow one, otherwise a copy. One size may be -1. */
    public static final Op RESHAPE = new Op("reshape", Op.Kind.MOVEMENT) {
        @Override
        protected Object compute(Object[] args) {
            Tensor x = tensorArg(args, 0);
            int[] target = inferShape(name(), x, intsArg(args, 1));
            refusePerChannel(name(), x);
            int[] strides = viewStrides(x.shape, x.strides, target);
            if (strides != null) {
                return x.view(target, strides, x.offset, x.qparams);
            }
            Tensor c = copyContiguous(x);
            return c.view(target, Shapes.contiguousStrides(target), 0, c.qparams);
        }

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            return new Object[] {Gradients.toInputShape(args, gradOutput),
                    null, null};
        }
    };

    /** {@code view(x, int[] shape)}: like reshape but never copies; refuses when the strides do not allow a view. */
    public static final Op VIEW = new Op("view", Op.Kind.MOVEMENT) {
        @Override
        protected Object compute(Object[] args) {
            Tensor x = tensorArg(args, 0);
            int[] target = inferShape(name(), x, intsArg(args, 1));
            refusePerChannel(name(), x);
            int[] strides = viewStrides(x.shape, x.strides, target);
            if (strides == null) {
                throw new ShapeException("view: shape " + Arrays.toString(x.shape) + " with strides "
                        + Arrays.toString(x.strides) + " cannot be viewed as " + Arrays.toString(target)
                        + "; call contiguous() first or use reshape");
            }
            return x.view(target, strides, x.offset, x.qparams);
        }

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            return new Object[] {Gradients.toInputShape(args, gradOutput),
                    null, null};
        }
    };

    /** {@code permute(x, int[] dims)}: reorders dimensions. */
    public static final Op PERMUTE = new Op("permute", Op.Kind.MOVEMENT) {
        @Override
        protected Object compute(Object[] args) {
            Tensor x = tensorArg(args, 0);
            int[] dims = intsArg(args, 1);
            int rank = x.shape.length;
            if (dims.length != rank) {
                throw new ShapeException("permute: " + dims.length + " dims " + Arrays.toString(dims) + " for a "
                        + rank + "-d tensor of shape " + Arrays.toString(x.shape));
            }
            boolean[] seen = new boolean[rank];
            int[] shape = new int[rank];
            int[] strides = new int[rank];
            for (int i = 0; i < rank; i++) {
                int d = Shapes.normalizeDim("permute", dims[i], rank);
                if (seen[d]) {
                    throw new ShapeException("permute: dimension " + d + " repeated in " + Arrays.toString(dims));
                }
                seen[d] = true;
                dims[i] = d;
                shape[i] = x.shape[d];
                strides[i] = x.strides[d];
            }
            return x.view(shape, strides, x.offset, permuteQParams(x.qparams, dims));
        }

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            return new Object[] {Gradients.inversePermute(gradOutput, (int[]) args[1]), null};
        }
    };

    /** {@code transpose(x, dim0, dim1)}: swaps two dimensions. */
    public static final Op TRANSPOSE = new Op("transpose", Op.Kind.MOVEMENT) {
        @Override
        protected Object compute(Object[] args) {
            Tensor x = tensorArg(args, 0);
            int rank = x.shape.length;
            int a = Shapes.normalizeDim(name(), intArg(args, 1), rank);
            int b = Shapes.normalizeDim(name(), intArg(args, 2), rank);
            int[] dims = Shapes.allDims(rank);
            dims[a] = b;
            dims[b] = a;
            return PERMUTE.compute(new Object[] {x, dims});
        }

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            return new Object[] {MovementOps.copyContiguous(Gradients.call(TRANSPOSE, gradOutput, args[1], args[2])),
                    null, null};
        }
    };

    /** {@code slice(x, dim, start, end, step)} with Python semantics (negative indices, clamped ends). */
    public static final Op SLICE = new Op("slice", Op.Kind.MOVEMENT) {
        @Override
        protected Object compute(Object[] args) {
            Tensor x = tensorArg(args, 0);
            int dim = Shapes.normalizeDim(name(), intArg(args, 1), x.shape.length);
            int size = x.shape[dim];
            int step = intArg(args, 4);
            if (step <= 0) {
                throw new ShapeException("slice: step must be positive, got " + step);
            }
            int start = clampIndex(intArg(args, 2), size);
            int end = clampIndex(intArg(args, 3), size);
            int length = end > start ? (end - start + step - 1) / step : 0;
            int[] shape = x.shape.clone();
            int[] strides = x.strides.clone();
            shape[dim] = length;
            strides[dim] = x.strides[dim] * step;
            QParams q = x.qparams;
            if (q instanceof QParams.PerChannel pc && pc.axis() == dim) {
                float[] s = new float[length];
                int[] z = new int[length];
                for (int i = 0; i < length; i++) {
                    s[i] = pc.scale(start + i * step);
                    z[i] = pc.zeroPoint(start + i * step);
                }
                q = new QParams.PerChannel(s, z, dim);
            }
            return x.view(shape, strides, x.offset + start * x.strides[dim], q);
        }

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            return new Object[] {Gradients.scatterView((Tensor) args[0], SLICE, args, gradOutput), null, null, null, null};
        }
    };

    /** {@code select(x, dim, index)}: one index along a dimension, which disappears. */
    public static final Op SELECT = new Op("select", Op.Kind.MOVEMENT) {
        @Override
        protected Object compute(Object[] args) {
            Tensor x = tensorArg(args, 0);
            int rank = x.shape.length;
            int dim = Shapes.normalizeDim(name(), intArg(args, 1), rank);
            int index = intArg(args, 2);
            int i = index < 0 ? index + x.shape[dim] : index;
            if (i < 0 || i >= x.shape[dim]) {
                throw new ShapeException("select: index " + index + " out of range for dimension " + dim + " of shape "
                        + Arrays.toString(x.shape));
            }
            QParams q = x.qparams;
            if (q instanceof QParams.PerChannel pc) {
                if (pc.axis() == dim) {
                    q = new QParams.PerTensor(pc.scale(i), pc.zeroPoint(i));
                } else if (pc.axis() > dim) {
                    q = new QParams.PerChannel(pc.scales(), pc.zeroPoints(), pc.axis() - 1);
                }
            }
            return x.view(remove(x.shape, dim), remove(x.strides, dim), x.offset + i * x.strides[dim], q);
        }

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            return new Object[] {Gradients.scatterView((Tensor) args[0], SELECT, args, gradOutput), null, null};
        }
    };

    /** {@code unsqueeze(x, dim)}: inserts a size-1 dimension at {@code dim} (0..rank). */
    public static final Op UNSQUEEZE = new Op("unsqueeze", Op.Kind.MOVEMENT) {
        @Override
        protected Object compute(Object[] args) {
            Tensor x = tensorArg(args, 0);
            int rank = x.shape.length;
            int dim = Shapes.normalizeDim(name(), intArg(args, 1), rank + 1);
            refusePerChannel(name(), x);
            int stride = dim < rank ? x.strides[dim] * x.shape[dim] : 1;
            return x.view(insert(x.shape, dim, 1), insert(x.strides, dim, stride), x.offset, x.qparams);
        }

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            return new Object[] {Gradients.toInputShape(args, gradOutput),
                    null, null};
        }
    };

    /** {@code squeeze(x, dim)}: removes a size-1 dimension. */
    public static final Op SQUEEZE = new Op("squeeze", Op.Kind.MOVEMENT) {
        @Override
        protected Object compute(Object[] args) {
            Tensor x = tensorArg(args, 0);
            int dim = Shapes.normalizeDim(name(), intArg(args, 1), x.shape.length);
            if (x.shape[dim] != 1) {
                throw new ShapeException("squeeze: dimension " + dim + " of shape " + Arrays.toString(x.shape)
                        + " has size " + x.shape[dim] + ", not 1");
            }
            refusePerChannel(name(), x);
            return x.view(remove(x.shape, dim), remove(x.strides, dim), x.offset, x.qparams);
        }

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            return new Object[] {Gradients.toInputShape(args, gradOutput),
                    null, null};
        }
    };

    /** {@code expand(x, int[] shape)}: broadcasts size-1 dimensions with stride 0; -1 keeps a size. */
    public static final Op EXPAND = new Op("expand", Op.Kind.MOVEMENT) {
        @Override
        protected Object compute(Object[] args) {
            Tensor x = tensorArg(args, 0);
            int[] target = intsArg(args, 1);
            if (target.length < x.shape.length) {
                throw new ShapeException("expand: cannot expand shape " + Arrays.toString(x.shape) + " to fewer dims "
                        + Arrays.toString(target));
            }
            refusePerChannel(name(), x);
            int shift = target.length - x.shape.length;
            int[] strides = new int[target.length];
            for (int i = 0; i < target.length; i++) {
                int src = i - shift;
                int have = src >= 0 ? x.shape[src] : 1;
                if (target[i] == -1) {
                    if (src < 0) {
                        throw new ShapeException("expand: -1 not allowed for new leading dimension " + i);
                    }
                    target[i] = have;
                }
                if (have == target[i]) {
                    strides[i] = src >= 0 ? x.strides[src] : 0;
                } else if (have == 1) {
                    strides[i] = 0;
                } else {
                    throw new ShapeException("expand: shape " + Arrays.toString(x.shape) + " cannot expand to "
                            + Arrays.toString(target) + " (dimension " + i + ")");
                }
            }
            Shapes.checkDims("expand", target);
            return x.view(target, strides, x.offset, x.qparams);
        }

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            return new Object[] {Gradients.sumTo(gradOutput, ((Tensor) args[0]).shape), null};
        }
    };

    /** {@code flatten(x, startDim, endDim)}. */
    public static final Op FLATTEN = new Op("flatten", Op.Kind.MOVEMENT) {
        @Override
        protected Object compute(Object[] args) {
            Tensor x = tensorArg(args, 0);
            int rank = Math.max(x.shape.length, 1);
            int start = Shapes.normalizeDim(name(), intArg(args, 1), rank);
            int end = Shapes.normalizeDim(name(), intArg(args, 2), rank);
            if (x.shape.length == 0) {
                return RESHAPE.compute(new Object[] {x, new int[] {1}});
            }
            if (start > end) {
                throw new ShapeException("flatten: start dim " + start + " after end dim " + end);
            }
            int[] shape = new int[x.shape.length - (end - start)];
            int j = 0;
            for (int i = 0; i < x.shape.length; i++) {
                if (i <= start || i > end) {
                    shape[j++] = x.shape[i];
                } else {
                    shape[j - 1] *= x.shape[i];
                }
            }
            return RESHAPE.compute(new Object[] {x, shape});
        }

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            return new Object[] {Gradients.toInputShape(args, gradOutput),
                    null, null};
        }
    };

    /**
     * {@code unflatten(x, dim, sizes)}: splits dimension {@code dim} into {@code sizes} (one entry may be -1), the
     * inverse of flatten. The other dimensions come from the input at run time, so a traced graph that splits
     * attention heads this way holds for any batch and sequence length (no shape guard).
     */
    public static final Op UNFLATTEN = new Op("unflatten", Op.Kind.MOVEMENT) {
        @Override
        protected Object compute(Object[] args) {
            Tensor x = tensorArg(args, 0);
            int dim = Shapes.normalizeDim(name(), intArg(args, 1), x.shape.length);
            int[] sizes = intsArg(args, 2);
            int[] shape = new int[x.shape.length - 1 + sizes.length];
            System.arraycopy(x.shape, 0, shape, 0, dim);
            System.arraycopy(sizes, 0, shape, dim, sizes.length);
            System.arraycopy(x.shape, dim + 1, shape, dim + sizes.length, x.shape.length - dim - 1);
            long known = 1;
            int free = -1;
            for (int i = 0; i < sizes.length; i++) {
                if (sizes[i] == -1 && free < 0) {
                    free = i;
                } else if (sizes[i] <= 0) {
                    throw new ShapeException("unflatten: sizes " + Arrays.toString(sizes) + " must be positive, with at"
                            + " most one -1");
                } else {
                    known *= sizes[i];
                }
            }
            if (free >= 0 && known > 0 && x.shape[dim] % known == 0) {
                shape[dim + free] = (int) (x.shape[dim] / known);
                known *= shape[dim + free];
            }
            if (known != x.shape[dim]) {
                throw new ShapeException("unflatten: dimension " + dim + " of shape " + Arrays.toString(x.shape)
                        + " cannot split into " + Arrays.toString(sizes));
            }
            return RESHAPE.compute(new Object[] {x, shape});
        }

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            return new Object[] {Gradients.toInputShape(args, gradOutput), null, null};
        }
    };

    /**
     * {@code narrow_like(x, dim, reference, referenceDim)}: the first {@code reference.size(referenceDim)} elements
     * of {@code x} along {@code dim}. Position ids cut to the sequence length this way keep a traced embedding
     * block valid for every length, where reading the length in Java would bake it into the graph.
     */
    public static final Op NARROW_LIKE = new Op("narrow_like", Op.Kind.MOVEMENT) {
        @Override
        protected Object compute(Object[] args) {
            Tensor x = tensorArg(args, 0);
            int dim = Shapes.normalizeDim(name(), intArg(args, 1), x.shape.length);
            Tensor reference = tensorArg(args, 2);
            int refDim = Shapes.normalizeDim(name(), intArg(args, 3), reference.shape.length);
            int length = reference.shape[refDim];
            if (length > x.shape[dim]) {
                throw new ShapeException("narrow_like: the reference has " + length + " elements in dimension " + refDim
                        + " but the tensor only " + x.shape[dim] + " in dimension " + dim + " (shape "
                        + Arrays.toString(x.shape) + ")");
            }
            return SLICE.compute(new Object[] {x, dim, 0, length, 1});
        }

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            Object[] sliceArgs = {args[0], args[1], 0, ((Tensor) args[2]).shape[
                    Shapes.normalizeDim(name(), (Integer) args[3], ((Tensor) args[2]).shape.length)], 1};
            return new Object[] {Gradients.scatterView((Tensor) args[0], SLICE, sliceArgs, gradOutput), null, null,
                    null};
        }
    };

    /**
     * {@code zeros_like(x, dtype)}: zeros of {@code x}'s shape in {@code dtype} (null: x's dtype), shaped when the op
     * runs, so a trace that makes default token types this way holds for every input shape.
     */
    public static final Op ZEROS_LIKE = new Op("zeros_like", Op.Kind.CREATION) {
        @Override
        protected Object compute(Object[] args) {
            Tensor x = tensorArg(args, 0);
            DType dtype = args.length > 1 && args[1] != null ? enumArg(args, 1, DType.class) : x.dtype();
            return Tensor.zeros(dtype, x.shape);
        }

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            return new Object[] {null, null};
        }
    };

    /** {@code contiguous(x)}: x itself when already contiguous, else a row-major copy. */
    public static final Op CONTIGUOUS = new Op("contiguous", Op.Kind.MOVEMENT) {
        @Override
        protected Object compute(Object[] args) {
            Tensor x = tensorArg(args, 0);
            return x.isContiguous() ? x : copyContiguous(x);
        }

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            return new Object[] {gradOutput};
        }
    };

    /** {@code to(x, DType)}: converted copy. Quantized tensors must be dequantized instead. */
    public static final Op TO_DTYPE = new Op("to", Op.Kind.MOVEMENT) {
        @Override
        protected Object compute(Object[] args) {
            Tensor x = tensorArg(args, 0);
            DType target = enumArg(args, 1, DType.class);
            if (x.qparams != null) {
                throw new DTypeException("to(" + target + "): tensor is quantized; use dequantize()");
            }
            if (target == x.dtype) {
                return x;
            }
            Tensor out = Tensor.empty(target, x.shape);
            copyInto(x, out);
            return out;
        }

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            // Only float-to-float conversions carry a gradient (integer results never require one).
            return new Object[] {((Tensor) args[0]).dtype == DType.FLOAT32 ? gradOutput : null, null};
        }
    };

    /** {@code cat(Tensor[] xs, dim)}: concatenation; shapes must agree except along {@code dim}. */
    public static final Op CAT = new Op("cat", Op.Kind.MOVEMENT) {
        @Override
        protected Object compute(Object[] args) {
            Tensor[] xs = tensorsArg(args, 0);
            if (xs.length == 0) {
                throw new ShapeException("cat: needs at least one tensor");
            }
            Tensor first = xs[0];
            int dim = Shapes.normalizeDim(name(), intArg(args, 1), first.shape.length);
            // Per-channel tensors joined along their channel axis keep each piece's channel qparams.
            boolean joinChannels = first.qparams instanceof QParams.PerChannel pc0 && pc0.axis() == dim;
            int total = 0;
            for (int t = 0; t < xs.length; t++) {
                Tensor x = xs[t];
                boolean qparamsFit = joinChannels
                        ? x.qparams instanceof QParams.PerChannel pc && pc.axis() == dim
                        : java.util.Objects.equals(x.qparams, first.qparams);
                if (x.dtype != first.dtype || x.shape.length != first.shape.length || !qparamsFit) {
                    throw new ShapeException("cat: tensor " + t + " (" + x.dtype + " " + Arrays.toString(x.shape)
                            + ") does not match tensor 0 (" + first.dtype + " " + Arrays.toString(first.shape)
                            + ") in dtype, rank or qparams");
                }
                for (int d = 0; d < x.shape.length; d++) {
                    if (d != dim && x.shape[d] != first.shape[d]) {
                        throw new ShapeException("cat: tensor " + t + " has shape " + Arrays.toString(x.shape)
                                + ", tensor 0 has " + Arrays.toString(first.shape) + "; only dimension " + dim
                                + " may differ");
                    }
                }
                total += x.shape[dim];
            }
            int[] shape = first.shape.clone();
            shape[dim] = total;
            Tensor out = Tensor.empty(first.dtype, shape);
            out = out.view(out.shape, out.strides, 0, joinChannels ? joinedChannels(xs, dim, total) : first.qparams);
            int at = 0;
            for (Tensor x : xs) {
                Tensor dst = (Tensor) SLICE.compute(new Object[] {out, dim, at, at + x.shape[dim], 1});
                copyInto(x, dst);
                at += x.shape[dim];
            }
            return out;
        }

        @Override
        public Object[] backward(Object[] args, Object result, Tensor gradOutput, boolean[] needsGrad) {
            return new Object[] {Gradients.cat((Tensor[]) args[0], (Integer) args[1], gradOutput, needsGrad), null};
        }
    };

    /** {@code split(x, int[] sizes, dim)}: views of consecutive pieces; the sizes must add up to the dimension. */
    public static final Op SPLIT = new Op("split", Op.Kind.MOVEMENT) {
        @Override
        protected Object compute(Object[] args) {
            Tensor x = tensorArg(args, 0);
            int[] sizes = intsArg(args, 1);
            int dim = Shapes.normalizeDim(name(), intArg(args, 2), x.shape.length);
            int sum = 0;
            for (int s : sizes) {
                if (s < 0) {
                    throw new ShapeException("split: negative size in " + Arrays.toString(sizes));
                }
                sum += s;
            }
            if (sum != x.shape[dim]) {
                throw new ShapeException("split: sizes " + Arrays.toString(sizes) + " add up to " + sum
                        + ", dimension " + dim + " of shape " + Arrays.toString(x.shape) + " is " + x.shape[dim]);
            }
            Tensor[] out = new Tensor[sizes.length];
            int at = 0;
            for (int i = 0; i < sizes.length; i++) {
                out[i] = (Tensor) SLICE.compute(new Object[] {x, dim, at, at + sizes[i], 1});
                at += sizes[i];
            }
            return out;
        }
    };

    /**
     * {@code pad(x, int[] pads, float value)}: constant padding as {@code torch.nn.functional.pad}: pads come in
     * (before, after) pairs starting from the last dimension. Negative pads crop.
     */
    public static final Op PAD = new Op("pad", Op.Kind.MOVEMENT) {
        @Override
        protected Object compute(Object[] args) {
            Tensor x = tensorArg(args, 0);
            int[] pads = intsArg(args, 1);
            float value = floatArg(args, 2);
            if (pads.length % 2 != 0 || pads.length / 2 > x.shape.length) {
                throw new ShapeException("pad: " + pads.length + " pad values " + Arrays.toString(pads)
                        + " for a tensor of shape " + Arrays.toString(x.shape) + " (need pairs, at most 2 per dim)");
            }
            if (x.qparams != null) {
                throw new DTypeException("pad: quantized tensors are not supported; dequantize first");
            }
            int rank = x.shape.length;
            int[] shape = x.shape.clone();
            int[] before = new int[rank];
            for (int i = 0; i < pads.length / 2; i++) {
                int d = rank - 1 - i;
                before[d] = pads[2 * i];
                shape[d] = x.shape[d] + pads[2 * i] + pads[2 * i + 1];
                if (shape[d] < 0) {
                    throw new ShapeException("pad: pads " + Arrays.toString(pads) + " make dimension " + d
                            + " of shape " + Arrays.toString(x.shape) + " negative");
                }
            }
            Tensor out = Tensor.empty(x.dtype, shape);
            if (value != 0f) {
                for (int i = 0; i < out.numelRef(); i++) {
                    out.storage.setFloat(i, value);
                }
            }
            // Copy the overlapping region: narrow both source (for crops) and destination (for pads).
            Tensor src = x;
            Tensor dst = out;
            for (int d = 0; d < rank; d++) {
                int srcStart = Math.max(0, -before[d]);
                int dstStart = Math.max(0, before[d]);
                int len = Math.min(x.shape[d] - srcStart, shape[d] - dstStart);
                if (len <= 0) {
                    return out;
                }
                src = (Tensor) SLICE.compute(new Object[] {src, d, srcStart, srcStart + len, 1});
                dst = (Tensor) SLICE.compute(new Object[] {dst, d, dstStart, dstStart + len, 1});
            }
            copyInto(src, dst);
            return out;
        }
    };

    // ---------------------------------------------------------------- helpers

    /** Copies {@code src} into {@code dst} (same shape, any strides), converting dtype as {@code to()} does. */
    static void copyInto(Tensor src, Tensor dst) {
        copyValues(src, dst);
        dst.storage.version++; // written in place: caches derived from the old values no longer apply
    }

    private static void copyValues(Tensor src, Tensor dst) {
        int n = src.numelRef();
        if (src.shape.length > 0 && n > 0 && src.dtype == dst.dtype
                && (src.storage.floats != null || src.storage.bytes != null)) {
            copyRows(src, dst);
            return;
        }
        StridedCursor s = StridedCursor.over(src);
        StridedCursor d = StridedCursor.over(dst);
        if (src.dtype == DType.FLOAT32 && dst.dtype == DType.FLOAT32) {
            float[] a = src.storage.floats;
            float[] b = dst.storage.floats;
            for (int i = 0; i < n; i++, s.next(), d.next()) {
                b[d.offset] = a[s.offset];
            }
        } else if (dst.dtype == DType.FLOAT32) {
            for (int i = 0; i < n; i++, s.next(), d.next()) {
                dst.storage.setFloat(d.offset, src.storage.getFloat(s.offset));
            }
        } else if (src.dtype == DType.FLOAT32 && dst.dtype == DType.BOOL) {
            for (int i = 0; i < n; i++, s.next(), d.next()) {
                dst.storage.setFloat(d.offset, src.storage.getFloat(s.offset));
            }
        } else {
            for (int i = 0; i < n; i++, s.next(), d.next()) {
                dst.storage.setLong(d.offset, src.storage.getLong(s.offset));
            }
        }
    }

    /**
     * Same-dtype copy of float32 or byte-backed (int8, uint8, bool) tensors a row (last dimension) at a time:
     * {@code System.arraycopy} where both rows are unit-stride (permute + contiguous in attention), a strided loop
     * otherwise; the outer dimensions are walked once per row.
     */
    private static void copyRows(Tensor src, Tensor dst) {
        int last = src.shape.length - 1;
        int len = src.shape[last];
        int ss = src.strides[last];
        int ds = dst.strides[last];
        int rows = src.numelRef() / len;
        int[] outer = Arrays.copyOf(src.shape, last);
        StridedCursor s = new StridedCursor(outer, Arrays.copyOf(src.strides, last), src.offset);
        StridedCursor d = new StridedCursor(outer, Arrays.copyOf(dst.strides, last), dst.offset);
        Object a = src.storage.floats != null ? src.storage.floats : src.storage.bytes;
        Object b = dst.storage.floats != null ? dst.storage.floats : dst.storage.bytes;
        for (int r = 0; r < rows; r++, s.next(), d.next()) {
            if (ss == 1 && ds == 1) {
                System.arraycopy(a, s.offset, b, d.offset, len);
            } else if (a instanceof float[] x && b instanceof float[] y) {
                for (int i = 0; i < len; i++) {
                    y[d.offset + i * ds] = x[s.offset + i * ss];
                }
            } else {
                byte[] x = (byte[]) a;
                byte[] y = (byte[]) b;
                for (int i = 0; i < len; i++) {
                    y[d.offset + i * ds] = x[s.offset + i * ss];
                }
            }
        }
    }

    static Tensor copyContiguous(Tensor x) {
        Tensor out = Tensor.empty(x.dtype, x.shape);
        copyInto(x, out);
        return out.view(out.shape, out.strides, 0, x.qparams);
    }

    private static int clampIndex(int i, int size) {
        int v = i < 0 ? i + size : i;
        return Math.max(0, Math.min(v, size));
    }

    private static int[] inferShape(String op, Tensor x, int[] target) {
        int n = x.numelRef();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < target.length; i++) {
            if (target[i] == -1) {
                if (infer >= 0) {
                    throw new ShapeException(op + ": only one -1 allowed in " + Arrays.toString(target));
                }
                infer = i;
            } else if (target[i] < 0) {
                throw new ShapeException(op + ": invalid size " + target[i] + " in " + Arrays.toString(target));
            } else {
                known *= target[i];
            }
        }
        if (infer >= 0) {
            if (known == 0 || n % known != 0) {
                throw new ShapeException(op + ": cannot infer -1 in " + Arrays.toString(target) + " for "
                        + n + " elements of shape " + Arrays.toString(x.shape));
            }
            target[infer] = (int) (n / known);
            known *= target[infer];
        }
        if (known != n) {
            throw new ShapeException(op + ": shape " + Arrays.toString(target) + " (" + known
                    + " elements) does not fit shape " + Arrays.toString(x.shape) + " (" + n + " elements)");
        }
        return target;
    }

    /**
     * Strides that let {@code newShape} view the same memory as ({@code shape}, {@code strides}), or null when a copy
     * is needed. Works on runs of dimensions that are contiguous among themselves (the classic
     * "compute stride" of reshaping strided arrays).
     */
    static int[] viewStrides(int[] shape, int[] strides, int[] newShape) {
        int n = Shapes.numelUnchecked(shape);
        int[] out = new int[newShape.length];
        if (n == 0) {
            return Shapes.contiguousStrides(newShape);
        }
        int viewD = newShape.length - 1;
        int chunkBaseStride = strides.length > 0 ? strides[strides.length - 1] : 1;
        long tensorNumel = 1;
        long viewNumel = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            tensorNumel *= shape[d];
            boolean chunkEnds = d == 0 || (shape[d - 1] != 1 && strides[d - 1] != tensorNumel * chunkBaseStride);
            if (chunkEnds) {
                while (viewD >= 0 && (viewNumel < tensorNumel || newShape[viewD] == 1)) {
                    out[viewD] = (int) (viewNumel * chunkBaseStride);
                    viewNumel *= newShape[viewD];
                    viewD--;
                }
                if (viewNumel != tensorNumel) {
                    return null;
                }
                if (d > 0) {
                    chunkBaseStride = strides[d - 1];
                    tensorNumel = 1;
                    viewNumel = 1;
                }
            }
        }
        while (viewD >= 0) {
            out[viewD] = 1;
            viewD--;
        }
        return out;
    }

    private static QParams joinedChannels(Tensor[] xs, int dim, int total) {
        float[] scales = new float[total];
        int[] zeroPoints = new int[total];
        int at = 0;
        for (Tensor x : xs) {
            QParams.PerChannel pc = (QParams.PerChannel) x.qparams;
            for (int c = 0; c < pc.channels(); c++, at++) {
                scales[at] = pc.scale(c);
                zeroPoints[at] = pc.zeroPoint(c);
            }
        }
        return new QParams.PerChannel(scales, zeroPoints, dim);
    }

    private static void refusePerChannel(String op, Tensor x) {
        if (x.qparams instanceof QParams.PerChannel) {
            throw new DTypeException(op + ": not supported on a per-channel quantized tensor of shape "
                    + Arrays.toString(x.shape) + "; dequantize first");
        }
    }

    private static QParams permuteQParams(QParams q, int[] dims) {
        if (q instanceof QParams.PerChannel pc) {
            for (int i = 0; i < dims.length; i++) {
                if (dims[i] == pc.axis()) {
                    return new QParams.PerChannel(pc.scales(), pc.zeroPoints(), i);
                }
            }
        }
        return q;
    }

    static int[] remove(int[] a, int at) {
        int[] out = new int[a.length - 1];
        System.arraycopy(a, 0, out, 0, at);
        System.arraycopy(a, at + 1, out, at, a.length - at - 1);
        return out;
    }

    static int[] insert(int[] a, int at, int value) {
        int[] out = new int[a.length + 1];
        System.arraycopy(a, 0, out, 0, at);
        out[at] = value;
        System.arraycopy(a, at, out, at + 1, a.length - at);
        return out;
    }
}
