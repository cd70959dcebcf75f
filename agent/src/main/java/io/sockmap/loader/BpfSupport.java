package io.sockmap.loader;

import io.sockmap.kernel.Bpf;
import io.sockmap.kernel.Errno;
import io.sockmap.kernel.KernelException;
import io.sockmap.kernel.LibC;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Whether this process can splice in the kernel, and the one call that sets the splice program up. */
public final class BpfSupport {
    /** SOCKHASH of source sockets (key cookie, value fd); {@link #VERDICT} is attached to it. */
    public static final String SOURCES = "sm_sources";
    /** SOCKHASH of redirect targets (key cookie, value fd); no program attached. */
    public static final String TARGETS = "sm_targets";
    /** HASH: source cookie -> slot index in {@link #DIRS}. */
    public static final String SLOTS = "sm_slots";
    /** ARRAY of {@code struct sm_dir} (96 bytes), {@code BPF_F_MMAPABLE}. */
    public static final String DIRS = "sm_dirs";
    /** The sk_skb verdict program, without the sequence guard: what CAP_BPF + CAP_NET_ADMIN can load. */
    public static final String VERDICT = "sm_verdict";
    /**
     * The same with the sequence guard (bpf/splice.c): removes bytes the kernel offers twice.
     * Needs the kernel's BTF and CAP_PERFMON; attached instead of {@link #VERDICT} when it loads.
     */
    public static final String VERDICT_GUARDED = "sm_verdict_guarded";

    private static final List<String> SPLICE_MAPS = List.of(SOURCES, TARGETS, SLOTS, DIRS);

    /** The probe's answer; {@code reason} says why not, or {@code "available"}. */
    public record Availability(boolean available, String reason) {}

    private BpfSupport() {}

    /**
     * Creates and closes a one-entry SOCKHASH. Never throws: every failure becomes an
     * unavailable {@link Availability} with the reason.
     */
    public static Availability probe() {
        try {
            int fd = Bpf.mapCreate(Bpf.BPF_MAP_TYPE_SOCKHASH, 8, 4, 1, 0, "sm_probe");
            LibC.closeFd(fd);
            return new Availability(true, "available");
        } catch (KernelException e) {
            switch (e.errno()) {
                case Errno.EPERM: return new Availability(false, "unavailable: no CAP_BPF/CAP_NET_ADMIN (EPERM)");
                case Errno.ENOSYS: return new Availability(false, "unavailable: kernel without bpf() syscall");
                case Errno.EINVAL: return new Availability(false, "unavailable: kernel too old for SOCKHASH");
                default: return new Availability(false, "unavailable: " + e.getMessage());
            }
        } catch (LinkageError e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            return new Availability(false, "unavailable: JNA native library: " + cause);
        } catch (RuntimeException e) {
            return new Availability(false, "unavailable: " + e);
        }
    }

    /**
     * Loads the embedded splice program with room for {@code maxSockets} sockets in every map and
     * attaches {@link #VERDICT} to {@link #SOURCES} as {@code BPF_SK_SKB_VERDICT}.
     */
    public static BpfCollection loadSplice(int maxSockets) throws LoaderException {
        if (maxSockets <= 0) throw new IllegalArgumentException("maxSockets must be > 0: " + maxSockets);
        BpfObjectSpec spec = BpfObjectSpec.embeddedSplice();
        Map<String, Integer> sizes = new LinkedHashMap<>();
        for (String map : SPLICE_MAPS) sizes.put(map, maxSockets);
        BpfCollection collection = BpfCollection.load(spec, sizes, java.util.Set.of(VERDICT_GUARDED));
        try {
            String verdict = collection.hasProgram(VERDICT_GUARDED) ? VERDICT_GUARDED : VERDICT;
            collection.map(SOURCES).attach(collection.program(verdict), Bpf.BPF_SK_SKB_VERDICT);
            return collection;
        } catch (KernelException | RuntimeException e) {
            collection.close();
            throw new LoaderException(e.getMessage(), e);
        }
    }
}
