package io.sockmap.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import io.sockmap.examples.LoadClient;

/**
 * Checks with strace that a HAProxy subject really calls splice(): attaches {@code strace -f -c}
 * to every thread of the process, pushes one second of bulk traffic through it, detaches and
 * counts the calls of splice, recvfrom and sendto.
 */
final class SpliceCheck {

    private SpliceCheck() {
    }

    /** One line for the report, e.g. "haproxy-splice: splice() 2040 calls, recvfrom 3, sendto 3 (strace -f -c, 1 s bulk)". */
    static String run(Env env, Subject subject) throws IOException, InterruptedException {
        if (env.strace() == null) {
            return subject.name() + ": not checked (no strace)";
        }
        String file = JavaProxySubject.fileName(subject.name()) + "-strace.txt";
        Path out = env.logDir().resolve(file);
        Process strace = new ProcessBuilder(env.strace(), "-f", "-c", "-o", out.toString(),
                "-e", "trace=splice,recvfrom,sendto,read,write",
                "-p", Long.toString(subject.pid(BackendKind.SINK)))
                .redirectErrorStream(true).redirectOutput(env.logDir().resolve(file + ".log").toFile()).start();
        Thread.sleep(1000);   // attach
        LoadClient.Result r = LoadClient.run("--target", hostPort(subject), "--mode", "bulk", "--backend", "sink",
                "--duration", "1", "--no-verify", "--json");
        strace.destroy();     // SIGTERM: strace detaches and writes the summary
        strace.waitFor(10, TimeUnit.SECONDS);
        Map<String, Long> calls = parseCounts(Files.exists(out) ? Files.readAllLines(out) : List.of());
        return String.format(java.util.Locale.ROOT,
                "%s: splice() %d calls, recvfrom %d, sendto %d, read %d, write %d during 1 s of bulk (%s; strace -f -c, log %s)",
                subject.name(), calls.getOrDefault("splice", 0L), calls.getOrDefault("recvfrom", 0L),
                calls.getOrDefault("sendto", 0L), calls.getOrDefault("read", 0L), calls.getOrDefault("write", 0L),
                r.summary(), file);
    }

    private static String hostPort(Subject s) {
        return s.endpoint(BackendKind.SINK).getHostString() + ":" + s.endpoint(BackendKind.SINK).getPort();
    }

    /** Calls per syscall from a {@code strace -c} summary table. */
    static Map<String, Long> parseCounts(List<String> lines) {
        Map<String, Long> calls = new TreeMap<>();
        for (String line : lines) {
            String[] f = line.trim().split("\\s+");
            // % time, seconds, usecs/call, calls, [errors], syscall
            if (f.length < 5 || !f[0].matches("[0-9.]+") || f[f.length - 1].equals("total")) {
                continue;
            }
            try {
                calls.put(f[f.length - 1], Long.parseLong(f[3]));
            } catch (NumberFormatException e) {
                // a line that is not a table row
            }
        }
        return calls;
    }
}
