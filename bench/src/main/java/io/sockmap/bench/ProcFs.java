package io.sockmap.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * What the benchmark reads from /proc: a process's CPU time and resident set, the machine's CPU
 * time (including softirq, where the kernel's splice work runs) and the kernel's TCP socket memory.
 * The parsers are pure and unit-tested; the readers return -1 / zero times when a file is gone.
 */
final class ProcFs {

    /** Kernel clock ticks per second (USER_HZ); 100 on every mainstream Linux architecture. */
    static final double TICKS_PER_SECOND = 100;
    static final long PAGE_SIZE = 4096;

    /** Cumulative CPU time of the whole machine, in ticks: busy (everything but idle and iowait) and softirq. */
    record MachineCpu(long busyTicks, long softirqTicks) {
        MachineCpu minus(MachineCpu earlier) {
            return new MachineCpu(busyTicks - earlier.busyTicks, softirqTicks - earlier.softirqTicks);
        }
    }

    private ProcFs() {
    }

    /** utime + stime of a process (all threads), ticks; -1 if it cannot be read. */
    static long processCpuTicks(long pid) {
        try {
            return parseProcessCpuTicks(Files.readString(Path.of("/proc/" + pid + "/stat")));
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** VmRSS of a process in KiB; -1 if it cannot be read. */
    static long rssKib(long pid) {
        try {
            return parseStatusKib(Files.readAllLines(Path.of("/proc/" + pid + "/status")), "VmRSS:");
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    static MachineCpu machineCpu() {
        try {
            return parseMachineCpu(Files.readAllLines(Path.of("/proc/stat")));
        } catch (IOException | RuntimeException e) {
            return new MachineCpu(0, 0);
        }
    }

    /** Pages of memory the kernel charges to TCP sockets (the "mem" field of "TCP:" in /proc/net/sockstat). */
    static long tcpMemPages() {
        try {
            return parseSockstatTcpMem(Files.readAllLines(Path.of("/proc/net/sockstat")));
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** The soft limit on open files of this process (/proc/self/limits); Long.MAX_VALUE if unlimited or unknown. */
    static long openFileLimit() {
        try {
            return parseOpenFileLimit(Files.readAllLines(Path.of("/proc/self/limits")));
        } catch (IOException | RuntimeException e) {
            return Long.MAX_VALUE;
        }
    }

    static long parseOpenFileLimit(List<String> limits) {
        for (String line : limits) {
            if (line.startsWith("Max open files")) {
                String soft = line.substring("Max open files".length()).trim().split("\\s+")[0];
                return soft.equals("unlimited") ? Long.MAX_VALUE : Long.parseLong(soft);
            }
        }
        return Long.MAX_VALUE;
    }

    /**
     * The most connections a proxy can hold under an open-file limit: two descriptors per
     * connection plus 1,000 for the JVM's own; at most {@code wanted}.
     */
    static int connectionsWithin(long fileLimit, int wanted) {
        return (int) Math.max(1, Math.min(wanted, (fileLimit - 1000) / 2));
    }

    /** Fields 14 and 15 of /proc/PID/stat, counted after the ")" that ends the command name. */
    static long parseProcessCpuTicks(String stat) {
        String rest = stat.substring(stat.lastIndexOf(')') + 2);
        String[] f = rest.trim().split("\\s+");
        // rest starts at field 3 (state): utime is field 14 -> index 11, stime 15 -> index 12
        return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    }

    static long parseStatusKib(List<String> status, String key) {
        for (String line : status) {
            if (line.startsWith(key)) {
                return Long.parseLong(line.substring(key.length()).trim().split("\\s+")[0]);
            }
        }
        return -1;
    }

    /** The "cpu" line: user nice system idle iowait irq softirq steal (guest is inside user). */
    static MachineCpu parseMachineCpu(List<String> stat) {
        for (String line : stat) {
            if (line.startsWith("cpu ")) {
                String[] f = line.trim().split("\\s+");
                long user = Long.parseLong(f[1]);
                long nice = Long.parseLong(f[2]);
                long system = Long.parseLong(f[3]);
                long irq = f.length > 6 ? Long.parseLong(f[6]) : 0;
                long softirq = f.length > 7 ? Long.parseLong(f[7]) : 0;
                long steal = f.length > 8 ? Long.parseLong(f[8]) : 0;
                return new MachineCpu(user + nice + system + irq + softirq + steal, softirq);
            }
        }
        throw new IllegalArgumentException("no 'cpu' line in /proc/stat");
    }

    static long parseSockstatTcpMem(List<String> sockstat) {
        for (String line : sockstat) {
            if (line.startsWith("TCP:")) {
                String[] f = line.substring(4).trim().split("\\s+");
                for (int i = 0; i + 1 < f.length; i += 2) {
                    if (f[i].equals("mem")) {
                        return Long.parseLong(f[i + 1]);
                    }
                }
            }
        }
        return -1;
    }
}
