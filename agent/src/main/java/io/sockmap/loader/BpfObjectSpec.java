package io.sockmap.loader;

import io.sockmap.kernel.Bpf;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import net.fornwall.jelf.ElfException;
import net.fornwall.jelf.ElfFile;
import net.fornwall.jelf.ElfRelocation;
import net.fornwall.jelf.ElfRelocationSection;
import net.fornwall.jelf.ElfSection;
import net.fornwall.jelf.ElfSectionHeader;
import net.fornwall.jelf.ElfSymbol;
import net.fornwall.jelf.ElfSymbolTableSection;

/**
 * A parsed BPF ELF object (clang {@code -target bpf}): its maps, programs and license, nothing
 * loaded. Parsing is pure and checks everything the loader relies on, so a bad object fails here
 * with the section, symbol or instruction named, not later in the kernel.
 */
public final class BpfObjectSpec {
    /** Class path resource holding the compiled {@code bpf/splice.c}. */
    public static final String SPLICE_RESOURCE = "/io/sockmap/bpf/splice.o";

    static final int EM_BPF = 247;
    static final int MAP_DEF_SIZE = 20;
    static final int R_BPF_64_64 = 1;
    /** clang's relocation on a {@code call} to an undefined (extern, {@code __ksym}) function. */
    static final int R_BPF_64_32 = 10;
    private static final int SHF_EXECINSTR = 0x4;
    private static final int OP_LD_IMM64 = 0x18;
    private static final int OP_CALL = 0x85;

    private final List<MapSpec> maps;
    private final List<ProgramSpec> programs;
    private final String license;

    private BpfObjectSpec(List<MapSpec> maps, List<ProgramSpec> programs, String license) {
        this.maps = Collections.unmodifiableList(maps);
        this.programs = Collections.unmodifiableList(programs);
        this.license = license;
    }

    /** The verdict program embedded in this jar ({@link #SPLICE_RESOURCE}). */
    public static BpfObjectSpec embeddedSplice() throws LoaderException {
        String override = System.getProperty(TEST_OBJECT_PROPERTY);
        if (override != null) return fromTestOverride(override);
        byte[] elf;
        try (InputStream in = BpfObjectSpec.class.getResourceAsStream(SPLICE_RESOURCE)) {
            if (in == null) {
                throw new LoaderException("embedded BPF object missing: class path resource " + SPLICE_RESOURCE
                        + " not found (is sockmap-bpf on the class path?)");
            }
            elf = in.readAllBytes();
        } catch (IOException e) {
            throw new LoaderException("embedded BPF object missing: reading " + SPLICE_RESOURCE + ": " + e, e);
        }
        try {
            return parse(elf);
        } catch (LoaderException e) {
            throw new LoaderException("embedded BPF object missing: " + SPLICE_RESOURCE + " is corrupt: "
                    + e.getMessage(), e);
        }
    }

    /**
     * Test-only (documented in docs/RELIABILITY.md): {@code -Dsockmap.test.bpfObject=<file>} makes
     * {@link #embeddedSplice()} read the object from that file instead of the jar, so tests can
     * give the agent a missing or corrupt object. Never set it in production.
     */
    public static final String TEST_OBJECT_PROPERTY = "sockmap.test.bpfObject";

    private static BpfObjectSpec fromTestOverride(String file) throws LoaderException {
        byte[] elf;
        try {
            elf = java.nio.file.Files.readAllBytes(java.nio.file.Path.of(file));
        } catch (IOException | RuntimeException e) {
            throw new LoaderException("BPF object missing: cannot read " + file + " (" + TEST_OBJECT_PROPERTY + "): " + e, e);
        }
        try {
            return parse(elf);
        } catch (LoaderException e) {
            throw new LoaderException("BPF object " + file + " (" + TEST_OBJECT_PROPERTY + ") is corrupt: " + e.getMessage(), e);
        }
    }

    /** Parses a BPF relocatable object; nothing touches the kernel. */
    public static BpfObjectSpec parse(byte[] elf) throws LoaderException {
        if (elf == null || elf.length < 64) {
            throw new LoaderException("not an ELF object: " + (elf == null ? "null" : elf.length + " bytes"));
        }
        try {
            return new Parser(elf).parse();
        } catch (RuntimeException e) { // ElfException, or an index or size that jelf did not check
            throw new LoaderException("corrupt ELF object: " + (e instanceof ElfException ? e.getMessage() : e.toString()), e);
        }
    }

    public List<MapSpec> maps() {
        return maps;
    }

    /** The map called {@code name}; {@link IllegalArgumentException} when the object has none. */
    public MapSpec map(String name) {
        for (MapSpec m : maps) {
            if (m.name().equals(name)) return m;
        }
        throw new IllegalArgumentException("no map " + name + " in BPF object; maps: " + names(maps, MapSpec::name));
    }

    public List<ProgramSpec> programs() {
        return programs;
    }

    /** The program called {@code name}; {@link IllegalArgumentException} when the object has none. */
    public ProgramSpec program(String name) {
        for (ProgramSpec p : programs) {
            if (p.name().equals(name)) return p;
        }
        throw new IllegalArgumentException("no program " + name + " in BPF object; programs: "
                + names(programs, ProgramSpec::name));
    }

    /** Contents of section {@code license}, or {@code ""} when the object has none. */
    public String license() {
        return license;
    }

    @Override
    public String toString() {
        return "BpfObjectSpec[maps " + maps + ", programs " + programs + ", license " + license + "]";
    }

    private static <T> List<String> names(List<T> items, java.util.function.Function<T, String> name) {
        List<String> out = new ArrayList<>();
        for (T t : items) out.add(name.apply(t));
        return out;
    }

    /** Program type for a section name: the part before the first '/'. */
    static int programType(String section) throws LoaderException {
        String kind = section.contains("/") ? section.substring(0, section.indexOf('/')) : section;
        switch (kind) {
            case "sk_skb": return Bpf.BPF_PROG_TYPE_SK_SKB;
            case "sk_msg": return Bpf.BPF_PROG_TYPE_SK_MSG;
            case "socket": return Bpf.BPF_PROG_TYPE_SOCKET_FILTER;
            case ".text":
                throw new LoaderException("code in section .text: BPF-to-BPF function calls are not supported "
                        + "(mark helpers __always_inline)");
            default:
                throw new LoaderException("unsupported program section " + section + " (known: sk_skb/*, sk_msg, socket)");
        }
    }

    private static final class Parser {
        private final byte[] bytes;
        private final ElfFile elf;
        private final ElfSection[] sections;

        Parser(byte[] bytes) {
            this.bytes = bytes;
            this.elf = ElfFile.from(bytes);
            this.sections = new ElfSection[Short.toUnsignedInt(elf.e_shnum)];
        }

        BpfObjectSpec parse() throws LoaderException {
            if (elf.ei_class != ElfFile.CLASS_64) throw new LoaderException("not a 64-bit ELF object");
            if (elf.ei_data != ElfFile.DATA_LSB) throw new LoaderException("not a little-endian ELF object (clang -target bpf builds for the host)");
            if (elf.e_machine != EM_BPF) throw new LoaderException("not a BPF object: e_machine " + elf.e_machine + ", expected " + EM_BPF);
            if (elf.e_type != ElfFile.ET_REL) throw new LoaderException("not a relocatable object: e_type " + elf.e_type);
            for (int i = 0; i < sections.length; i++) {
                sections[i] = elf.getSection(i);
                ElfSectionHeader h = sections[i].header;
                if (h.sh_type != ElfSectionHeader.SHT_NOBITS && h.sh_type != ElfSectionHeader.SHT_NULL
                        && (h.sh_offset < 0 || h.sh_size < 0 || h.sh_offset + h.sh_size > bytes.length)) {
                    throw new LoaderException("section " + h.getName() + " lies outside the file (offset "
                            + h.sh_offset + ", size " + h.sh_size + ", file " + bytes.length + " bytes)");
                }
            }
            ElfSymbolTableSection symtab = elf.getSymbolTableSection();
            if (symtab == null) throw new LoaderException("no symbol table (.symtab)");
            ElfSymbol[] symbols = symtab.symbols;

            int mapsIndex = sectionIndex("maps");
            Map<Long, MapSpec> mapsByOffset = parseMaps(mapsIndex, symbols);
            List<ProgramSpec> programs = new ArrayList<>();
            for (int i = 0; i < sections.length; i++) {
                ElfSectionHeader h = sections[i].header;
                if (h.sh_type == ElfSectionHeader.SHT_PROGBITS && (h.sh_flags & SHF_EXECINSTR) != 0 && h.sh_size > 0) {
                    programs.addAll(parsePrograms(i, symbols, mapsIndex, mapsByOffset));
                }
            }
            programs.sort(Comparator.comparing(ProgramSpec::name));
            return new BpfObjectSpec(new ArrayList<>(mapsByOffset.values()), programs, parseLicense());
        }

        private int sectionIndex(String name) {
            for (int i = 0; i < sections.length; i++) {
                if (name.equals(sections[i].header.getName())) return i;
            }
            return -1;
        }

        private String sectionName(int index) {
            if (index <= 0 || index >= sections.length) return "section #" + index;
            return sections[index].header.getName();
        }

        /** Map definitions, ordered by their offset in section {@code maps} (= source order). */
        private Map<Long, MapSpec> parseMaps(int mapsIndex, ElfSymbol[] symbols) throws LoaderException {
            Map<Long, MapSpec> byOffset = new TreeMap<>();
            if (mapsIndex < 0) return byOffset;
            byte[] data = sections[mapsIndex].getData();
            ByteBuffer buf = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
            Map<String, Long> seen = new HashMap<>();
            for (ElfSymbol s : symbols) {
                if (Short.toUnsignedInt(s.st_shndx) != mapsIndex || s.getType() == ElfSymbol.STT_SECTION) continue;
                String name = s.getName();
                if (name == null || name.isEmpty()) continue;
                if (s.st_size != 0 && s.st_size < MAP_DEF_SIZE) {
                    throw new LoaderException("map " + name + ": definition is " + s.st_size + " bytes, expected "
                            + MAP_DEF_SIZE + " (struct sm_map_def)");
                }
                if (s.st_value < 0 || s.st_value + MAP_DEF_SIZE > data.length) {
                    throw new LoaderException("map " + name + ": definition at offset " + s.st_value
                            + " outside section maps (" + data.length + " bytes)");
                }
                if (seen.put(name, s.st_value) != null) throw new LoaderException("map " + name + " defined twice");
                int off = (int) s.st_value;
                MapSpec spec = new MapSpec(name, buf.getInt(off), buf.getInt(off + 4), buf.getInt(off + 8),
                        buf.getInt(off + 12), buf.getInt(off + 16));
                MapSpec other = byOffset.put(s.st_value, spec);
                if (other != null) throw new LoaderException("maps " + other.name() + " and " + name + " share offset " + off);
            }
            return byOffset;
        }

        private List<ProgramSpec> parsePrograms(int index, ElfSymbol[] symbols, int mapsIndex, Map<Long, MapSpec> maps)
                throws LoaderException {
            String section = sections[index].header.getName();
            byte[] code = sections[index].getData();
            if (code.length % ProgramSpec.INSN_SIZE != 0) {
                throw new LoaderException("section " + section + ": " + code.length + " bytes is not a whole number of instructions");
            }
            int type = programType(section);

            // Functions: [start, end) in bytes.
            List<long[]> ranges = new ArrayList<>();
            List<String> names = new ArrayList<>();
            for (ElfSymbol s : symbols) {
                if (Short.toUnsignedInt(s.st_shndx) != index || s.getType() != ElfSymbol.STT_FUNC) continue;
                long start = s.st_value;
                long end = s.st_size == 0 ? code.length : start + s.st_size;
                if (start < 0 || start % ProgramSpec.INSN_SIZE != 0 || end > code.length || end <= start) {
                    throw new LoaderException("program " + s.getName() + ": bad bounds [" + start + ", " + end
                            + ") in section " + section + " (" + code.length + " bytes)");
                }
                ranges.add(new long[] {start, end});
                names.add(s.getName());
            }
            if (names.isEmpty()) throw new LoaderException("section " + section + " has code but no function symbol");

            List<Map<Integer, String>> relocations = new ArrayList<>();
            List<Map<Integer, String>> kfuncs = new ArrayList<>();
            for (int i = 0; i < names.size(); i++) {
                relocations.add(new LinkedHashMap<>());
                kfuncs.add(new LinkedHashMap<>());
            }
            for (int r = 0; r < sections.length; r++) {
                ElfSectionHeader h = sections[r].header;
                if (h.sh_info != index) continue;
                if (h.sh_type == ElfSectionHeader.SHT_RELA) {
                    throw new LoaderException("section " + h.getName() + ": RELA relocations are not used by BPF objects");
                }
                if (h.sh_type != ElfSectionHeader.SHT_REL) continue;
                for (ElfRelocation rel : ((ElfRelocationSection) sections[r]).relocations) {
                    relocate(section, code, rel, symbols, mapsIndex, maps, ranges, names, relocations, kfuncs);
                }
            }

            List<ProgramSpec> out = new ArrayList<>();
            for (int i = 0; i < names.size(); i++) {
                byte[] insns = java.util.Arrays.copyOfRange(code, (int) ranges.get(i)[0], (int) ranges.get(i)[1]);
                rejectFunctionCalls(names.get(i), insns, kfuncs.get(i).keySet());
                out.add(new ProgramSpec(names.get(i), section, type, insns, relocations.get(i), kfuncs.get(i)));
            }
            return out;
        }

        private void relocate(String section, byte[] code, ElfRelocation rel, ElfSymbol[] symbols, int mapsIndex,
                              Map<Long, MapSpec> maps, List<long[]> ranges, List<String> names,
                              List<Map<Integer, String>> relocations, List<Map<Integer, String>> kfuncs)
                throws LoaderException {
            long offset = rel.r_offset;
            int symIndex = rel.getSymbolIndex();
            if (symIndex <= 0 || symIndex >= symbols.length) {
                throw new LoaderException(section + "+0x" + Long.toHexString(offset) + ": relocation against symbol #" + symIndex
                        + " (symbol table has " + symbols.length + ")");
            }
            ElfSymbol sym = symbols[symIndex];
            int symSection = Short.toUnsignedInt(sym.st_shndx);
            String symName = sym.getType() == ElfSymbol.STT_SECTION ? sectionName(symSection) : sym.getName();
            String where = section + "+0x" + Long.toHexString(offset) + " (symbol " + symName + ")";
            if (rel.getType() == R_BPF_64_32 && symSection == 0 && offset >= 0 && offset % ProgramSpec.INSN_SIZE == 0
                    && offset + ProgramSpec.INSN_SIZE <= code.length && (code[(int) offset] & 0xff) == OP_CALL) {
                // a call to a kernel function (extern __ksym): the loader resolves it against the kernel's BTF
                functionAt(where, offset, 1, ranges, names, kfuncs).put(functionIndex(offset, ranges), symName);
                return;
            }
            if (rel.getType() != R_BPF_64_64) {
                throw new LoaderException(where + ": unsupported relocation type " + rel.getType()
                        + " (only R_BPF_64_64 map loads and R_BPF_64_32 kfunc calls; no BPF-to-BPF calls)");
            }
            if (offset < 0 || offset % ProgramSpec.INSN_SIZE != 0 || offset + 2 * ProgramSpec.INSN_SIZE > code.length) {
                throw new LoaderException(where + ": relocation offset outside the section or not on an instruction");
            }
            if ((code[(int) offset] & 0xff) != OP_LD_IMM64) {
                throw new LoaderException(where + ": relocated instruction is opcode 0x"
                        + Integer.toHexString(code[(int) offset] & 0xff) + ", expected ld_imm64 (0x18)");
            }
            if (symSection == 0) throw new LoaderException(where + ": undefined symbol (extern) is not supported");
            if (symSection != mapsIndex) {
                throw new LoaderException(where + ": reference into section " + sectionName(symSection)
                        + "; global data (.data/.bss/.rodata) is not supported, only maps");
            }
            long mapOffset = sym.getType() == ElfSymbol.STT_SECTION
                    ? ByteBuffer.wrap(code, (int) offset + 4, 4).order(ByteOrder.LITTLE_ENDIAN).getInt()
                    : sym.st_value;
            MapSpec map = maps.get(mapOffset);
            if (map == null) throw new LoaderException(where + ": no map definition at offset " + mapOffset + " of section maps");
            functionAt(where, offset, 2, ranges, names, relocations).put(functionIndex(offset, ranges), map.name());
        }

        /** The relocation map of the function holding the {@code insns}-slot instruction at {@code offset}. */
        private static Map<Integer, String> functionAt(String where, long offset, int insns, List<long[]> ranges,
                                                       List<String> names, List<Map<Integer, String>> perFunction)
                throws LoaderException {
            for (int i = 0; i < ranges.size(); i++) {
                long[] range = ranges.get(i);
                if (offset >= range[0] && offset < range[1]) {
                    if (offset + (long) insns * ProgramSpec.INSN_SIZE > range[1]) {
                        throw new LoaderException(where + ": instruction crosses the end of " + names.get(i));
                    }
                    return perFunction.get(i);
                }
            }
            throw new LoaderException(where + ": relocation outside every function");
        }

        /** Index, within its function, of the instruction at byte {@code offset} of the section. */
        private static int functionIndex(long offset, List<long[]> ranges) {
            for (long[] range : ranges) {
                if (offset >= range[0] && offset < range[1]) return (int) ((offset - range[0]) / ProgramSpec.INSN_SIZE);
            }
            throw new IllegalStateException("offset " + offset + " outside every function");
        }

        private static void rejectFunctionCalls(String program, byte[] insns, java.util.Set<Integer> kfuncCalls)
                throws LoaderException {
            for (int i = 0; i < insns.length; i += ProgramSpec.INSN_SIZE) {
                int srcReg = (insns[i + 1] >> 4) & 0xf;
                if ((insns[i] & 0xff) == OP_CALL && srcReg != 0 && !kfuncCalls.contains(i / ProgramSpec.INSN_SIZE)) {
                    throw new LoaderException("program " + program + ", instruction " + i / ProgramSpec.INSN_SIZE
                            + ": call with src_reg " + srcReg + " (BPF-to-BPF call or kfunc) is not supported");
                }
            }
        }

        private String parseLicense() {
            int index = sectionIndex("license");
            if (index < 0) return "";
            byte[] data = sections[index].getData();
            int end = 0;
            while (end < data.length && data[end] != 0) end++;
            return new String(data, 0, end, StandardCharsets.US_ASCII);
        }
    }
}
