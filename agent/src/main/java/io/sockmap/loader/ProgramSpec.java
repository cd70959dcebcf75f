package io.sockmap.loader;

import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * A program as the object file defines it, not yet loaded.
 *
 * @param name         the function's symbol name, also the kernel's program name
 * @param section      the ELF section it lives in, e.g. {@code "sk_skb/verdict"}
 * @param type         {@code enum bpf_prog_type}, derived from the section name
 * @param instructions the raw 8-byte instructions, map references not yet patched
 * @param relocations  instruction index of each {@code ld_imm64} that loads a map -> the map's name
 * @param kfuncCalls   instruction index of each call to a kernel function ({@code extern ... __ksym},
 *                     resolved against the kernel's BTF at load time) -> the function's name
 */
public record ProgramSpec(String name, String section, int type, byte[] instructions, Map<Integer, String> relocations,
                          Map<Integer, String> kfuncCalls) {
    /** Size of one BPF instruction; {@code ld_imm64} takes two. */
    public static final int INSN_SIZE = 8;

    public ProgramSpec {
        instructions = instructions.clone();
        relocations = Collections.unmodifiableMap(new TreeMap<>(relocations));
        kfuncCalls = Collections.unmodifiableMap(new TreeMap<>(kfuncCalls));
    }

    public ProgramSpec(String name, String section, int type, byte[] instructions, Map<Integer, String> relocations) {
        this(name, section, type, instructions, relocations, Map.of());
    }

    @Override
    public byte[] instructions() {
        return instructions.clone();
    }

    public int instructionCount() {
        return instructions.length / INSN_SIZE;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ProgramSpec p && name.equals(p.name) && section.equals(p.section) && type == p.type
                && Arrays.equals(instructions, p.instructions) && relocations.equals(p.relocations)
                && kfuncCalls.equals(p.kfuncCalls);
    }

    @Override
    public int hashCode() {
        return 31 * name.hashCode() + Arrays.hashCode(instructions);
    }

    @Override
    public String toString() {
        return "ProgramSpec[" + name + " in " + section + ", type " + type + ", " + instructionCount()
                + " insns, map relocations " + relocations + (kfuncCalls.isEmpty() ? "" : ", kfunc calls " + kfuncCalls) + "]";
    }
}
