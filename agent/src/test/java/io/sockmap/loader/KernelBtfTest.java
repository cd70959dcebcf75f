package io.sockmap.loader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** Reads this machine's kernel BTF (world-readable, no privileges needed). */
class KernelBtfTest {
    private static KernelBtf vmlinux() throws LoaderException {
        Assumptions.assumeTrue(Files.isReadable(KernelBtf.VMLINUX), "kernel without BTF");
        return KernelBtf.vmlinux();
    }

    @Test
    void findsTheKfuncAndFieldsTheGuardUses() throws Exception {
        KernelBtf btf = vmlinux();
        assertTrue(btf.funcId("bpf_cast_to_kern_ctx") > 0);
        int cb = btf.memberOffset("sk_buff", "cb");
        assertTrue(cb > 0 && cb < 256 && cb % 8 == 0, "sk_buff.cb at " + cb);
        int copiedSeq = btf.memberOffset("tcp_sock", "copied_seq");
        assertTrue(copiedSeq > 0 && copiedSeq % 4 == 0 && copiedSeq < 4096, "tcp_sock.copied_seq at " + copiedSeq);
        // a member of an anonymous union: struct sk_buff { ... union { struct sock *sk; ... }; ... }
        assertTrue(btf.memberOffset("sk_buff", "sk") >= 0);
    }

    @Test
    void namesWhatIsMissing() throws Exception {
        KernelBtf btf = vmlinux();
        assertEquals("kernel function no_such_kfunc not in this kernel's BTF",
                assertThrows(LoaderException.class, () -> btf.funcId("no_such_kfunc")).getMessage());
        assertEquals("struct sk_buff has no member no_such_field in this kernel",
                assertThrows(LoaderException.class, () -> btf.memberOffset("sk_buff", "no_such_field")).getMessage());
        assertEquals("struct no_such_struct not in this kernel's BTF",
                assertThrows(LoaderException.class, () -> btf.memberOffset("no_such_struct", "x")).getMessage());
    }

    @Test
    void rejectsGarbage() {
        assertThrows(LoaderException.class, () -> KernelBtf.parse(new byte[8]));
        byte[] badMagic = new byte[64];
        assertEquals("BTF: bad magic", assertThrows(LoaderException.class, () -> KernelBtf.parse(badMagic)).getMessage());
        byte[] header = new byte[24];
        header[0] = (byte) 0x9f;
        header[1] = (byte) 0xeb;
        header[4] = 24;
        header[12] = 100; // type section longer than the data
        assertThrows(LoaderException.class, () -> KernelBtf.parse(header));
    }
}
