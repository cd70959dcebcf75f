package io.sockmap.loader;

import com.sun.jna.Memory;
import io.sockmap.kernel.Bpf;
import io.sockmap.kernel.Errno;
import io.sockmap.kernel.KernelException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The maps and programs of one {@link BpfObjectSpec}, created in the kernel: maps first, then each
 * program with its map references patched to the new map fds. Owns every fd; {@link #close()}
 * closes them all (attached programs and the maps they use live on in the kernel as long as
 * something references them).
 */
public final class BpfCollection implements AutoCloseable {
    /** First verifier log buffer; grown 4x on {@code ENOSPC} up to {@link #MAX_LOG_SIZE}. */
    static final int INITIAL_LOG_SIZE = 256 * 1024;
    static final int MAX_LOG_SIZE = 16 * 1024 * 1024;
    /** Verifier log lines repeated in the exception message. */
    static final int LOG_TAIL_LINES = 3;

    private final Map<String, BpfMap> maps;
    private final Map<String, BpfProgram> programs;
    private final Map<String, String> skipped = new LinkedHashMap<>();
    private boolean closed;

    private BpfCollection(Map<String, BpfMap> maps, Map<String, BpfProgram> programs) {
        this.maps = Collections.unmodifiableMap(maps);
        this.programs = Collections.unmodifiableMap(programs);
    }

    /**
     * Creates the maps and loads the programs of {@code spec}.
     *
     * @param maxEntriesOverride map name -> max_entries replacing the object's default; may be null
     * @throws LoaderException naming the map or program that failed; everything created so far is closed
     */
    public static BpfCollection load(BpfObjectSpec spec, Map<String, Integer> maxEntriesOverride) throws LoaderException {
        return load(spec, maxEntriesOverride, java.util.Set.of());
    }

    /**
     * As {@link #load(BpfObjectSpec, Map)}, but a program named in {@code optional} that cannot be
     * loaded (the verifier, the kernel's BTF or the process's capabilities refuse it) is left out
     * instead of failing the collection; {@link #skipped()} says why.
     */
    public static BpfCollection load(BpfObjectSpec spec, Map<String, Integer> maxEntriesOverride,
                                     java.util.Set<String> optional) throws LoaderException {
        Map<String, Integer> overrides = maxEntriesOverride == null ? Map.of() : maxEntriesOverride;
        List<MapSpec> mapSpecs = new ArrayList<>();
        for (MapSpec m : spec.maps()) {
            Integer max = overrides.get(m.name());
            if (max != null && max <= 0) throw new LoaderException("max_entries override for map " + m.name() + " must be > 0: " + max);
            mapSpecs.add(max == null ? m : m.withMaxEntries(max));
        }
        for (String name : overrides.keySet()) {
            if (spec.maps().stream().noneMatch(m -> m.name().equals(name))) {
                throw new LoaderException("max_entries override for map " + name + ", which the object does not define");
            }
        }

        Map<String, BpfMap> maps = new LinkedHashMap<>();
        Map<String, BpfProgram> programs = new LinkedHashMap<>();
        BpfCollection collection = new BpfCollection(maps, programs);
        boolean done = false;
        try {
            for (MapSpec m : mapSpecs) {
                int fd = Bpf.mapCreate(m.type(), m.keySize(), m.valueSize(), m.maxEntries(), m.flags(), m.name());
                maps.put(m.name(), new BpfMap(m, fd));
            }
            Map<String, Integer> fds = new LinkedHashMap<>();
            maps.forEach((name, map) -> fds.put(name, map.fd()));
            KernelRefs kernel = new KernelRefs();
            for (ProgramSpec p : spec.programs()) {
                try {
                    byte[] insns = kernel.resolve(p, relocate(p, fds));
                    programs.put(p.name(), new BpfProgram(p, loadProgram(p, insns, spec.license())));
                } catch (LoaderException e) {
                    if (!optional.contains(p.name())) throw e;
                    collection.skipped.put(p.name(), e.getMessage());
                }
            }
            done = true;
            return collection;
        } catch (KernelException e) {
            throw new LoaderException(e.getMessage(), e);
        } finally {
            if (!done) collection.close();
        }
    }

    /** The map called {@code name}; {@link IllegalArgumentException} when the object has none. */
    public BpfMap map(String name) {
        BpfMap m = maps.get(name);
        if (m == null) throw new IllegalArgumentException("no map " + name + " in collection; maps: " + maps.keySet());
        return m;
    }

    /** The program called {@code name}; {@link IllegalArgumentException} when the object has none. */
    public BpfProgram program(String name) {
        BpfProgram p = programs.get(name);
        if (p == null) throw new IllegalArgumentException("no program " + name + " in collection; programs: " + programs.keySet());
        return p;
    }

    /** Whether the program called {@code name} was loaded (an optional one may have been skipped). */
    public boolean hasProgram(String name) {
        return programs.containsKey(name);
    }

    /** Optional programs that were not loaded -> why. */
    public Map<String, String> skipped() {
        return Collections.unmodifiableMap(skipped);
    }

    /** Closes every program and map fd; idempotent. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        programs.values().forEach(BpfProgram::close);
        maps.values().forEach(BpfMap::close);
    }

    /**
     * The program's instructions with every map reference made a {@code BPF_PSEUDO_MAP_FD} load:
     * {@code src_reg = 1}, {@code imm = fd}, second half's {@code imm = 0}.
     */
    static byte[] relocate(ProgramSpec program, Map<String, Integer> mapFds) throws LoaderException {
        byte[] insns = program.instructions();
        for (Map.Entry<Integer, String> r : program.relocations().entrySet()) {
            Integer fd = mapFds.get(r.getValue());
            if (fd == null) {
                throw new LoaderException("program " + program.name() + ", instruction " + r.getKey()
                        + ": references map " + r.getValue() + ", which was not created");
            }
            int at = r.getKey() * ProgramSpec.INSN_SIZE;
            insns[at + 1] = (byte) ((insns[at + 1] & 0x0f) | (Bpf.BPF_PSEUDO_MAP_FD << 4));
            putInt(insns, at + 4, fd);
            putInt(insns, at + ProgramSpec.INSN_SIZE + 4, 0);
        }
        return insns;
    }

    /** Loads one program; when the kernel refuses it, loads it again with a verifier log. */
    private static int loadProgram(ProgramSpec p, byte[] insns, String license) throws LoaderException {
        try (Memory code = new Memory(insns.length)) {
            code.write(0, insns, 0, insns.length);
            int count = insns.length / ProgramSpec.INSN_SIZE;
            KernelException failure;
            try {
                return Bpf.progLoad(p.type(), code, count, license, p.name(), 0, 0, null, null);
            } catch (KernelException e) {
                failure = e;
            }
            long size = INITIAL_LOG_SIZE;
            while (true) {
                int[] trueSize = {0};
                try (Memory log = new Memory(size)) {
                    try {
                        return Bpf.progLoad(p.type(), code, count, license, p.name(), 0,
                                Bpf.LOG_LEVEL_VERIFIER, log, trueSize);
                    } catch (KernelException e) {
                        failure = e;
                        if (e.errno() == Errno.ENOSPC && size < MAX_LOG_SIZE) {
                            size = Math.min(MAX_LOG_SIZE, Math.max(size * 4, trueSize[0]));
                            continue;
                        }
                        log.setByte(log.size() - 1, (byte) 0);
                        String text = log.getString(0, StandardCharsets.UTF_8.name());
                        throw verifierFailure(p.name(), failure, text);
                    }
                }
            }
        }
    }

    static LoaderException verifierFailure(String program, KernelException failure, String log) {
        String tail = logTail(log, LOG_TAIL_LINES);
        String message = "load program " + program + ": " + failure.errnoName()
                + (tail.isEmpty() ? "" : " (verifier: " + tail + ")");
        return new LoaderException(message, log == null || log.isEmpty() ? null : log, failure);
    }

    /** The last {@code lines} non-blank lines of a verifier log, joined with {@code " | "}. */
    static String logTail(String log, int lines) {
        if (log == null) return "";
        String[] all = log.split("\n");
        List<String> tail = new ArrayList<>();
        for (int i = all.length - 1; i >= 0 && tail.size() < lines; i--) {
            String line = all[i].strip();
            if (!line.isEmpty()) tail.add(0, line);
        }
        return String.join(" | ", tail);
    }

    private static void putInt(byte[] b, int at, int v) {
        b[at] = (byte) v;
        b[at + 1] = (byte) (v >>> 8);
        b[at + 2] = (byte) (v >>> 16);
        b[at + 3] = (byte) (v >>> 24);
    }
}
