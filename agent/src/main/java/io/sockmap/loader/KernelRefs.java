package io.sockmap.loader;

import java.util.Map;

/**
 * A program's references into the running kernel, resolved at load time against its BTF
 * ({@link KernelBtf}): calls to kernel functions (kfuncs) and loads of kernel struct fields.
 *
 * <p>Kfunc calls are what clang emits for {@code extern ... __ksym} functions: a {@code call} with
 * an {@code R_BPF_64_32} relocation ({@link ProgramSpec#kfuncCalls()}); each becomes a
 * {@code BPF_PSEUDO_KFUNC_CALL} with the function's vmlinux BTF id.
 *
 * <p>Field loads use placeholder offsets instead of CO-RE relocations (which would need the
 * object's own BTF): a load instruction ({@code ldx}) whose offset is one of {@link #FIELDS}'
 * keys reads that kernel field, and its offset is replaced by the field's offset in this kernel.
 * The placeholders are defined for the C side in {@code include/sockmap/kernel_refs.h}.
 */
final class KernelRefs {
    /** Placeholder ldx offset -> {struct, member}. Keep in step with include/sockmap/kernel_refs.h. */
    static final Map<Integer, String[]> FIELDS = Map.of(
            32257, new String[] {"sk_buff", "cb"},
            32258, new String[] {"tcp_sock", "copied_seq"});

    static final int BPF_PSEUDO_KFUNC_CALL = 2;
    private static final int OP_CALL = 0x85;
    private static final int CLASS_LDX = 0x01;
    private static final int MODE_MEM = 0x60;

    private KernelBtf btf;
    private LoaderException btfFailure;

    /** {@code insns} with every kfunc call and field placeholder of {@code p} resolved; unchanged if it has none. */
    byte[] resolve(ProgramSpec p, byte[] insns) throws LoaderException {
        for (Map.Entry<Integer, String> call : p.kfuncCalls().entrySet()) {
            int at = call.getKey() * ProgramSpec.INSN_SIZE;
            if ((insns[at] & 0xff) != OP_CALL) {
                throw new LoaderException("program " + p.name() + ", instruction " + call.getKey() + ": kfunc "
                        + call.getValue() + " relocation is not on a call");
            }
            int id = btf(p).funcId(call.getValue());
            insns[at + 1] = (byte) ((insns[at + 1] & 0x0f) | (BPF_PSEUDO_KFUNC_CALL << 4));
            insns[at + 2] = 0; // off 0: the id is in vmlinux's BTF
            insns[at + 3] = 0;
            putInt(insns, at + 4, id);
        }
        for (int at = 0; at < insns.length; at += ProgramSpec.INSN_SIZE) {
            int op = insns[at] & 0xff;
            if ((op & 0x07) != CLASS_LDX || (op & 0xe0) != MODE_MEM) continue;
            int off = (short) ((insns[at + 2] & 0xff) | (insns[at + 3] << 8));
            String[] field = FIELDS.get(off);
            if (field == null) continue;
            int real = btf(p).memberOffset(field[0], field[1]);
            if (real > Short.MAX_VALUE) throw new LoaderException(field[0] + "." + field[1] + " at " + real + " is out of ldx range");
            insns[at + 2] = (byte) real;
            insns[at + 3] = (byte) (real >>> 8);
        }
        return insns;
    }

    private KernelBtf btf(ProgramSpec p) throws LoaderException {
        if (btf == null && btfFailure == null) {
            try {
                btf = KernelBtf.vmlinux();
            } catch (LoaderException e) {
                btfFailure = e;
            }
        }
        if (btfFailure != null) {
            throw new LoaderException("program " + p.name() + " needs the kernel's BTF: " + btfFailure.getMessage(), btfFailure);
        }
        return btf;
    }

    private static void putInt(byte[] b, int at, int v) {
        b[at] = (byte) v;
        b[at + 1] = (byte) (v >>> 8);
        b[at + 2] = (byte) (v >>> 16);
        b[at + 3] = (byte) (v >>> 24);
    }
}
