package io.sockmap.it;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * What the kernel says about the TCP sockets of a test connection: {@code ss -tinoem} for the
 * sockets on the given local ports (both ends of each connection), for a failure message: the
 * states, queues and windows show where bytes stopped (e.g. a zero window, or a socket that was
 * not closed).
 */
final class SocketStates {
    private SocketStates() {
    }

    /** {@code ss} output for every TCP socket whose source or destination port is one of {@code ports}. */
    static String of(int... ports) {
        StringBuilder filter = new StringBuilder();
        for (int p : ports) {
            if (filter.length() > 0) filter.append(" or ");
            filter.append("sport = :").append(p).append(" or dport = :").append(p);
        }
        List<String> cmd = new ArrayList<>(List.of("ss", "-tinoem", "state", "all"));
        cmd.add("( " + filter + " )");
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (InputStream in = p.getInputStream()) {
                in.transferTo(out);
            }
            p.waitFor(5, TimeUnit.SECONDS);
            return "socket states (" + String.join(" ", cmd) + "):\n" + out.toString(StandardCharsets.UTF_8);
        } catch (Exception e) {
            return "(no socket states: " + e + ")";
        }
    }
}
