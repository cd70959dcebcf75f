package io.sockmap.loader;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sockmap.kernel.Bpf;
import io.sockmap.kernel.Errno;
import io.sockmap.kernel.KernelException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Relocation, override checks and error formatting: the parts of loading that need no kernel. */
class BpfCollectionTest {

    @Test
    void relocationMakesPseudoMapFdLoads() throws Exception {
        ProgramSpec verdict = BpfObjectSpec.embeddedSplice().program("sm_verdict");
        Map<String, Integer> fds = Map.of("sm_sources", 3, "sm_targets", 4, "sm_slots", 5, "sm_dirs", 6);
        byte[] before = verdict.instructions();
        byte[] after = BpfCollection.relocate(verdict, fds);
        assertEquals(before.length, after.length);
        for (int i = 0; i < before.length / 8; i++) {
            String map = verdict.relocations().get(i);
            int at = i * 8;
            if (map == null) {
                assertArrayEquals(slice(before, at), slice(after, at), "instruction " + i + " unchanged");
                continue;
            }
            assertEquals(0x18, after[at] & 0xff);
            assertEquals(before[at + 1] & 0x0f, after[at + 1] & 0x0f, "dst_reg kept");
            assertEquals(Bpf.BPF_PSEUDO_MAP_FD, (after[at + 1] >> 4) & 0xf, "src_reg");
            assertEquals(fds.get(map), intAt(after, at + 4), "imm = fd of " + map);
            assertEquals(0, intAt(after, at + 12), "second half imm");
            i++; // second half of ld_imm64
        }
        assertArrayEquals(before, verdict.instructions(), "spec not modified");
    }

    @Test
    void relocationAgainstAMissingMapFails() throws Exception {
        ProgramSpec verdict = BpfObjectSpec.embeddedSplice().program("sm_verdict");
        LoaderException e = assertThrows(LoaderException.class,
                () -> BpfCollection.relocate(verdict, Map.of("sm_slots", 5)));
        assertTrue(e.getMessage().contains("which was not created"), e.getMessage());
    }

    @Test
    void overridesAreCheckedBeforeAnythingIsCreated() throws Exception {
        BpfObjectSpec spec = BpfObjectSpec.embeddedSplice();
        LoaderException unknown = assertThrows(LoaderException.class, () -> BpfCollection.load(spec, Map.of("sm_nope", 8)));
        assertTrue(unknown.getMessage().contains("map sm_nope, which the object does not define"), unknown.getMessage());
        LoaderException zero = assertThrows(LoaderException.class, () -> BpfCollection.load(spec, Map.of("sm_dirs", 0)));
        assertTrue(zero.getMessage().contains("must be > 0"), zero.getMessage());
    }

    @Test
    void verifierFailureKeepsWholeLogAndShowsTail() {
        String log = "0: (bf) r6 = r1\n1: (61) r8 = *(u32 *)(r6 +0)\n\nR1 invalid mem access 'scalar'\n"
                + "processed 12 insns (limit 1000000) max_states_per_insn 0\n\n";
        KernelException cause = new KernelException("load program sm_verdict", Errno.EACCES);
        LoaderException e = BpfCollection.verifierFailure("sm_verdict", cause, log);
        assertEquals("load program sm_verdict: EACCES (verifier: 1: (61) r8 = *(u32 *)(r6 +0) | "
                + "R1 invalid mem access 'scalar' | processed 12 insns (limit 1000000) max_states_per_insn 0)", e.getMessage());
        assertEquals(log, e.verifierLog());
        assertSame(cause, e.getCause());
    }

    @Test
    void failureWithoutLogHasNoVerifierPart() {
        KernelException cause = new KernelException("load program sm_verdict", Errno.EPERM);
        LoaderException e = BpfCollection.verifierFailure("sm_verdict", cause, "");
        assertEquals("load program sm_verdict: EPERM", e.getMessage());
        assertNull(e.verifierLog());
    }

    @Test
    void mmapLengthIsRoundedToPages() {
        MapSpec dirs = new MapSpec("sm_dirs", Bpf.BPF_MAP_TYPE_ARRAY, 4, 64, 1024, Bpf.BPF_F_MMAPABLE);
        assertEquals(64 * 1024, BpfMap.mmapLength(dirs, 4096));
        assertEquals(4096, BpfMap.mmapLength(dirs.withMaxEntries(1), 4096));
        assertEquals(65536, BpfMap.mmapLength(dirs.withMaxEntries(65), 65536));
        MapSpec odd = new MapSpec("odd", Bpf.BPF_MAP_TYPE_ARRAY, 4, 12, 1000, Bpf.BPF_F_MMAPABLE);
        assertEquals(16384, BpfMap.mmapLength(odd, 4096)); // 16-byte elements: 16000 -> 4 pages
    }

    @Test
    void mmapOfAMapThatIsNotMmapableIsRefused() {
        BpfMap hash = new BpfMap(new MapSpec("h", Bpf.BPF_MAP_TYPE_HASH, 8, 4, 1, 0), -1);
        assertThrows(IllegalStateException.class, hash::mmap);
    }

    @Test
    void closedMapFailsWithEbadf() {
        BpfMap map = new BpfMap(new MapSpec("h", Bpf.BPF_MAP_TYPE_HASH, 8, 4, 1, 0), -1);
        KernelException e = assertThrows(KernelException.class, () -> map.deleteLong(1));
        assertEquals(Errno.EBADF, e.errno());
        assertTrue(e.getMessage().startsWith("delete from map h"), e.getMessage());
    }

    private static byte[] slice(byte[] b, int at) {
        return java.util.Arrays.copyOfRange(b, at, at + 8);
    }

    private static int intAt(byte[] b, int at) {
        return ByteBuffer.wrap(b, at, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
    }
}
