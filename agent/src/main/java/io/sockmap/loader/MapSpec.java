package io.sockmap.loader;

/**
 * A map as the object file defines it, not yet created: {@code struct sm_map_def} from section
 * {@code maps} plus the symbol name. Types and flags are the uapi numbers ({@code Bpf.BPF_MAP_TYPE_*}).
 */
public record MapSpec(String name, int type, int keySize, int valueSize, int maxEntries, int flags) {

    public MapSpec {
        if (name == null || name.isEmpty()) throw new IllegalArgumentException("map without a name");
    }

    /** The same map with another capacity (the object only holds a default). */
    public MapSpec withMaxEntries(int maxEntries) {
        if (maxEntries <= 0) throw new IllegalArgumentException("max_entries of map " + name + " must be > 0: " + maxEntries);
        return new MapSpec(name, type, keySize, valueSize, maxEntries, flags);
    }
}
