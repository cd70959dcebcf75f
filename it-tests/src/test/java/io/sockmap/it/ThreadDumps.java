package io.sockmap.it;

import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * What a child JVM that does not stop is doing: SIGQUIT makes it print every thread's stack to
 * its stdout, which the test harness is already collecting line by line.
 */
final class ThreadDumps {
    private ThreadDumps() {
    }

    /** Sends SIGQUIT to {@code process} and returns what it printed to {@code stdout} within a few seconds. */
    static String of(Process process, List<String> stdout) {
        int before = stdout.size();
        try {
            new ProcessBuilder("kill", "-QUIT", Long.toString(process.pid())).inheritIO().start().waitFor(5, TimeUnit.SECONDS);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (System.nanoTime() < deadline) {
                List<String> added = stdout.subList(before, stdout.size());
                if (added.stream().anyMatch(l -> l.startsWith("JNI global refs"))) break;
                Thread.sleep(50);
            }
        } catch (Exception e) {
            return "(no thread dump: " + e + ")";
        }
        List<String> added = List.copyOf(stdout.subList(before, stdout.size()));
        return added.isEmpty() ? "(no thread dump printed)" : "thread dump:\n" + String.join("\n", added);
    }
}
