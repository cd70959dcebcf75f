package io.sockmap.engine;

/**
 * What this engine holds in the kernel right now, for leak checks: the keys in each of its maps
 * (counted by walking them) and the direction slots it has handed out. A socket leaves
 * {@code sm_sources} / {@code sm_targets} when it is closed; a slot is bound in {@code sm_slots}
 * from the handover until the direction is detached. With no connection open, all four are 0.
 *
 * @param sources    sockets in {@code sm_sources} (sources of spliced directions)
 * @param targets    sockets in {@code sm_targets} (redirect targets)
 * @param slots      cookie-to-slot entries in {@code sm_slots}
 * @param slotsInUse slots allocated to directions and not yet released (released slots wait out a
 *                   short quarantine before reuse; they are not counted here)
 */
public record MapEntries(long sources, long targets, long slots, long slotsInUse) {
    /** True when nothing is held. */
    public boolean empty() {
        return sources == 0 && targets == 0 && slots == 0 && slotsInUse == 0;
    }
}
