package io.sockmap.agent;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The effective capabilities that matter for splicing, read from {@code /proc/self/status}. */
public final class Capabilities {
    public static final int CAP_NET_ADMIN = 12;
    public static final int CAP_SYS_ADMIN = 21;
    public static final int CAP_PERFMON = 38;
    public static final int CAP_BPF = 39;

    private Capabilities() {}

    /**
     * The names of CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON (the sequence guard), CAP_SYS_ADMIN present in the {@code CapEff:} line of
     * a {@code /proc/<pid>/status} text, in that order; null if there is no parsable line.
     */
    public static List<String> effective(String procStatus) {
        for (String line : procStatus.split("\n")) {
            if (!line.startsWith("CapEff:")) continue;
            String hex = line.substring("CapEff:".length()).trim();
            long mask;
            try {
                mask = Long.parseUnsignedLong(hex, 16);
            } catch (NumberFormatException e) {
                return null;
            }
            List<String> names = new ArrayList<>();
            if ((mask & (1L << CAP_BPF)) != 0) names.add("CAP_BPF");
            if ((mask & (1L << CAP_NET_ADMIN)) != 0) names.add("CAP_NET_ADMIN");
            if ((mask & (1L << CAP_PERFMON)) != 0) names.add("CAP_PERFMON");
            if ((mask & (1L << CAP_SYS_ADMIN)) != 0) names.add("CAP_SYS_ADMIN");
            return names;
        }
        return null;
    }

    /** {@code CAP_BPF,CAP_NET_ADMIN}, {@code none}, or {@code unknown} when /proc cannot be read. */
    public static String describeSelf() {
        try {
            List<String> caps = effective(Files.readString(Path.of("/proc/self/status")));
            if (caps == null) return "unknown";
            return caps.isEmpty() ? "none" : String.join(",", caps);
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }
}
