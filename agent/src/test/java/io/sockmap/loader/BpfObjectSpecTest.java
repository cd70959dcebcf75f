package io.sockmap.loader;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sockmap.kernel.Bpf;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import net.fornwall.jelf.ElfFile;
import net.fornwall.jelf.ElfSection;
import net.fornwall.jelf.ElfSectionHeader;
import net.fornwall.jelf.ElfSymbol;
import org.junit.jupiter.api.Test;

/** Parsing the real compiled splice.o, and refusing broken variants of it. No kernel needed. */
class BpfObjectSpecTest {
    private static final int OP_CALL = 0x85;

    static byte[] spliceBytes() throws IOException {
        try (InputStream in = BpfObjectSpec.class.getResourceAsStream(BpfObjectSpec.SPLICE_RESOURCE)) {
            assertTrue(in != null, "splice.o on the test class path (sockmap-bpf dependency)");
            return in.readAllBytes();
        }
    }

    @Test
    void testOverrideMissingOrCorruptObjectGivesOneClearLine(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        String old = System.getProperty(BpfObjectSpec.TEST_OBJECT_PROPERTY);
        try {
            java.nio.file.Path missing = dir.resolve("missing.o");
            System.setProperty(BpfObjectSpec.TEST_OBJECT_PROPERTY, missing.toString());
            LoaderException e = org.junit.jupiter.api.Assertions.assertThrows(LoaderException.class, BpfObjectSpec::embeddedSplice);
            assertTrue(e.getMessage().startsWith("BPF object missing: cannot read " + missing), e.getMessage());

            java.nio.file.Path corrupt = dir.resolve("corrupt.o");
            byte[] bytes = spliceBytes();
            java.nio.file.Files.write(corrupt, java.util.Arrays.copyOf(bytes, bytes.length / 3)); // truncated ELF
            System.setProperty(BpfObjectSpec.TEST_OBJECT_PROPERTY, corrupt.toString());
            e = org.junit.jupiter.api.Assertions.assertThrows(LoaderException.class, BpfObjectSpec::embeddedSplice);
            assertTrue(e.getMessage().startsWith("BPF object " + corrupt + " (sockmap.test.bpfObject) is corrupt: "),
                    e.getMessage());
            assertEquals(-1, e.getMessage().indexOf('\n'), "one line: " + e.getMessage());

            java.nio.file.Files.write(corrupt, bytes); // the real object through the override loads
            System.setProperty(BpfObjectSpec.TEST_OBJECT_PROPERTY, corrupt.toString());
            assertTrue(BpfObjectSpec.embeddedSplice() != null);
        } finally {
            if (old == null) System.clearProperty(BpfObjectSpec.TEST_OBJECT_PROPERTY);
            else System.setProperty(BpfObjectSpec.TEST_OBJECT_PROPERTY, old);
        }
    }

    @Test
    void embeddedSpliceHasTheContractMaps() throws Exception {
        BpfObjectSpec spec = BpfObjectSpec.embeddedSplice();
        assertEquals(List.of(
                new MapSpec("sm_sources", Bpf.BPF_MAP_TYPE_SOCKHASH, 8, 4, 1024, 0),
                new MapSpec("sm_targets", Bpf.BPF_MAP_TYPE_SOCKHASH, 8, 4, 1024, 0),
                new MapSpec("sm_slots", Bpf.BPF_MAP_TYPE_HASH, 8, 4, 1024, 0),
                new MapSpec("sm_dirs", Bpf.BPF_MAP_TYPE_ARRAY, 4, 96, 1024, Bpf.BPF_F_MMAPABLE)), spec.maps());
        assertEquals(Bpf.BPF_MAP_TYPE_ARRAY, spec.map("sm_dirs").type());
        assertEquals("Dual MIT/GPL", spec.license());
        assertThrows(IllegalArgumentException.class, () -> spec.map("nope"));
    }

    @Test
    void embeddedSpliceHasTheVerdictProgram() throws Exception {
        BpfObjectSpec spec = BpfObjectSpec.embeddedSplice();
        assertEquals(2, spec.programs().size());
        ProgramSpec verdict = spec.program("sm_verdict");
        assertEquals("sk_skb/verdict", verdict.section());
        assertEquals(Bpf.BPF_PROG_TYPE_SK_SKB, verdict.type());
        assertEquals(0, verdict.instructions().length % ProgramSpec.INSN_SIZE);
        // One map load each for sm_slots, sm_dirs (lookups) and sm_targets (redirect); never sm_sources.
        assertEquals(Set.of("sm_slots", "sm_dirs", "sm_targets"), new HashSet<>(verdict.relocations().values()));
        assertEquals(3, verdict.relocations().size());
        byte[] insns = verdict.instructions();
        for (int index : verdict.relocations().keySet()) {
            assertEquals(0x18, insns[index * 8] & 0xff, "ld_imm64 at " + index);
            assertEquals(0, (insns[index * 8 + 1] >> 4) & 0xf, "src_reg not yet patched at " + index);
        }
        // Helpers by id: lookup (1), socket cookie (46), redirect hash (72).
        assertEquals(Set.of(1, 46, 72), new HashSet<>(helperCalls(insns)));
        assertEquals(java.util.Map.of(), verdict.kfuncCalls());
    }

    @Test
    void embeddedSpliceHasTheGuardedVerdictProgram() throws Exception {
        ProgramSpec guarded = BpfObjectSpec.embeddedSplice().program("sm_verdict_guarded");
        assertEquals("sk_skb/verdict", guarded.section());
        assertEquals(Set.of("sm_slots", "sm_dirs", "sm_targets"), new HashSet<>(guarded.relocations().values()));
        // One kfunc call, relocated by name; its call keeps clang's src_reg 1 until the loader patches it.
        assertEquals(1, guarded.kfuncCalls().size());
        assertEquals("bpf_cast_to_kern_ctx", guarded.kfuncCalls().values().iterator().next());
        int at = guarded.kfuncCalls().keySet().iterator().next() * ProgramSpec.INSN_SIZE;
        byte[] insns = guarded.instructions();
        assertEquals(0x85, insns[at] & 0xff);
        // Helpers: the three above, skb_adjust_room (50), skc_to_tcp_sock (137).
        assertEquals(Set.of(1, 46, 50, 72, 137), new HashSet<>(helperCalls(insns)));
        // Both kernel-field placeholders are present (KernelRefs.FIELDS).
        Set<Integer> offsets = new HashSet<>();
        for (int i = 0; i < insns.length; i += ProgramSpec.INSN_SIZE) {
            if ((insns[i] & 0xff) == 0x61) offsets.add((int) (short) ((insns[i + 2] & 0xff) | (insns[i + 3] << 8)));
        }
        assertTrue(offsets.containsAll(KernelRefs.FIELDS.keySet()), offsets.toString());
    }

    @Test
    void embeddedSpliceHasNoGlobalData() throws Exception {
        ElfFile elf = ElfFile.from(spliceBytes());
        for (int i = 0; i < elf.e_shnum; i++) {
            ElfSection s = elf.getSection(i);
            String name = s.header.getName();
            if (name == null || s.header.sh_size == 0) continue;
            assertFalse(name.equals(".data") || name.equals(".bss") || name.startsWith(".rodata") || name.startsWith(".data."),
                    "global data section " + name);
        }
    }

    @Test
    void mapSpecWithMaxEntries() {
        MapSpec m = new MapSpec("m", Bpf.BPF_MAP_TYPE_HASH, 8, 4, 1024, 0);
        assertEquals(new MapSpec("m", Bpf.BPF_MAP_TYPE_HASH, 8, 4, 7, 0), m.withMaxEntries(7));
        assertThrows(IllegalArgumentException.class, () -> m.withMaxEntries(0));
    }

    @Test
    void programSpecIsImmutable() throws Exception {
        ProgramSpec p = BpfObjectSpec.embeddedSplice().program("sm_verdict");
        byte[] copy = p.instructions();
        copy[0] = 0x42;
        assertFalse(p.instructions()[0] == 0x42);
        assertThrows(UnsupportedOperationException.class, () -> p.relocations().put(0, "x"));
    }

    @Test
    void refusesWhatIsNotAnElfObject() {
        assertMessage(null, "not an ELF object");
        assertMessage(new byte[0], "not an ELF object");
        assertMessage(new byte[] {0x7f, 'E', 'L', 'F'}, "not an ELF object");
        byte[] noise = new byte[4096];
        new Random(1).nextBytes(noise);
        assertMessage(noise, "ELF");
    }

    @Test
    void refusesTruncatedObject() throws Exception {
        byte[] elf = spliceBytes();
        for (int len : new int[] {64, 200, elf.length / 2, elf.length - 1}) {
            assertThrows(LoaderException.class, () -> BpfObjectSpec.parse(java.util.Arrays.copyOf(elf, len)), "length " + len);
        }
    }

    @Test
    void refusesOtherArchitecturesAndByteOrders() throws Exception {
        byte[] x86 = spliceBytes();
        putShort(x86, 18, 62); // e_machine EM_X86_64
        assertMessage(x86, "not a BPF object");
        byte[] elf32 = spliceBytes();
        elf32[4] = ElfFile.CLASS_32;
        assertThrows(LoaderException.class, () -> BpfObjectSpec.parse(elf32));
        byte[] exec = spliceBytes();
        putShort(exec, 16, ElfFile.ET_EXEC);
        assertMessage(exec, "not a relocatable object");
    }

    @Test
    void refusesMapDefinitionOutsideItsSection() throws Exception {
        byte[] elf = spliceBytes();
        ElfSymbol dirs = symbol(elf, "sm_dirs");
        putLong(elf, (int) dirs.offset + 8, 1000); // st_value
        assertMessage(elf, "map sm_dirs: definition at offset 1000 outside section maps");
    }

    @Test
    void refusesUnsupportedRelocationType() throws Exception {
        byte[] elf = spliceBytes();
        int at = firstRelocation(elf);
        elf[at + 8] = 10; // r_info low word: R_BPF_64_32 (a BPF-to-BPF call)
        assertMessage(elf, "unsupported relocation type 10");
    }

    @Test
    void refusesRelocationOfAnInstructionThatIsNotLdImm64() throws Exception {
        byte[] elf = spliceBytes();
        int at = firstRelocation(elf);
        long offset = ByteBuffer.wrap(elf, at, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        elf[(int) (section(elf, "sk_skb/verdict").sh_offset + offset)] = (byte) 0xb7; // mov
        assertMessage(elf, "expected ld_imm64");
    }

    @Test
    void refusesReferenceToGlobalData() throws Exception {
        byte[] elf = spliceBytes();
        // Point sm_slots (target of a relocation) at section "license", as if it were .rodata.
        ElfSymbol slots = symbol(elf, "sm_slots");
        putShort(elf, (int) slots.offset + 6, sectionIndex(elf, "license"));
        assertMessage(elf, "global data (.data/.bss/.rodata) is not supported");
    }

    @Test
    void refusesBpfToBpfCalls() throws Exception {
        byte[] elf = spliceBytes();
        long code = section(elf, "sk_skb/verdict").sh_offset;
        int[] calls = callOffsets(BpfObjectSpec.parse(elf).program("sm_verdict").instructions());
        elf[(int) code + calls[0] + 1] = 0x10; // src_reg = BPF_PSEUDO_CALL
        assertMessage(elf, "BPF-to-BPF call");
    }

    @Test
    void programTypeFromSectionName() throws Exception {
        assertEquals(Bpf.BPF_PROG_TYPE_SK_SKB, BpfObjectSpec.programType("sk_skb/stream_verdict"));
        assertEquals(Bpf.BPF_PROG_TYPE_SK_MSG, BpfObjectSpec.programType("sk_msg"));
        LoaderException text = assertThrows(LoaderException.class, () -> BpfObjectSpec.programType(".text"));
        assertTrue(text.getMessage().contains("BPF-to-BPF"), text.getMessage());
        LoaderException xdp = assertThrows(LoaderException.class, () -> BpfObjectSpec.programType("xdp"));
        assertTrue(xdp.getMessage().contains("unsupported program section xdp"), xdp.getMessage());
    }

    // ---- helpers ----

    private static void assertMessage(byte[] elf, String expected) {
        LoaderException e = assertThrows(LoaderException.class, () -> BpfObjectSpec.parse(elf));
        assertTrue(e.getMessage().contains(expected), "message \"" + e.getMessage() + "\" should contain \"" + expected + "\"");
    }

    private static List<Integer> helperCalls(byte[] insns) {
        List<Integer> ids = new ArrayList<>();
        for (int at : callOffsets(insns)) {
            if (((insns[at + 1] >> 4) & 0xf) != 0) continue; // a kfunc call, not a helper
            ids.add(ByteBuffer.wrap(insns, at + 4, 4).order(ByteOrder.LITTLE_ENDIAN).getInt());
        }
        return ids;
    }

    private static int[] callOffsets(byte[] insns) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < insns.length; i += 8) {
            if ((insns[i] & 0xff) == OP_CALL) out.add(i);
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    private static ElfSymbol symbol(byte[] elf, String name) {
        for (ElfSymbol s : ElfFile.from(elf).getSymbolTableSection().symbols) {
            if (name.equals(s.getName())) return s;
        }
        throw new AssertionError("no symbol " + name);
    }

    private static int sectionIndex(byte[] elf, String name) {
        ElfFile f = ElfFile.from(elf);
        for (int i = 0; i < f.e_shnum; i++) {
            if (name.equals(f.getSection(i).header.getName())) return i;
        }
        throw new AssertionError("no section " + name);
    }

    private static ElfSectionHeader section(byte[] elf, String name) {
        return ElfFile.from(elf).getSection(sectionIndex(elf, name)).header;
    }

    /** File offset of the first entry of the program's REL section. */
    private static int firstRelocation(byte[] elf) {
        return (int) section(elf, ".relsk_skb/verdict").sh_offset;
    }

    private static void putShort(byte[] b, int at, int v) {
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putShort(at, (short) v);
    }

    private static void putLong(byte[] b, int at, long v) {
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(at, v);
    }
}
