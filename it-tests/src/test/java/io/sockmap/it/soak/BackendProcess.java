package io.sockmap.it.soak;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The driver's handle on the {@link SoakBackend} JVM: starts it, hands each report line to the
 * driver and sends it commands (release the barrier, reset a hung connection, quit).
 */
final class BackendProcess {
    /** One backend report: the id arrived ({@code done == false}) or the backend side finished. */
    record Report(long id, boolean done, int peerPort, long inBytes, byte[] inSha, String inOutcome, long outBytes,
                  byte[] outSha, String outOutcome) {}

    final Process process;
    final int port;
    private final PrintWriter commands;

    private BackendProcess(Process process, int port) {
        this.process = process;
        this.port = port;
        this.commands = new PrintWriter(new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8), true);
    }

    static BackendProcess start(String java, List<String> jvmOptions, long seed, long phase1Bytes, int readTimeoutMillis,
                                Consumer<Report> reports) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(java);
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), SoakBackend.class.getName(),
                String.valueOf(seed), String.valueOf(phase1Bytes), String.valueOf(readTimeoutMillis)));
        Soak.say("backend: " + String.join(" ", cmd));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        CompletableFuture<Integer> listening = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String l;
                while ((l = r.readLine()) != null) {
                    String[] c = l.split("\t", -1);
                    switch (c[0]) {
                        case "listening" -> listening.complete(Integer.parseInt(c[1]));
                        case "A" -> reports.accept(new Report(Long.parseLong(c[1]), false, Integer.parseInt(c[2]),
                                0, null, null, 0, null, null));
                        case "D" -> reports.accept(new Report(Long.parseLong(c[1]), true, 0, Long.parseLong(c[2]),
                                sha(c[3]), c[4], Long.parseLong(c[5]), sha(c[6]), c[7]));
                        default -> Soak.say("backend: " + l);
                    }
                }
            } catch (IOException | RuntimeException e) {
                Soak.say("backend output: " + e);
            }
            listening.completeExceptionally(new IOException("the backend's stdout closed"));
        }, "soak-backend-reports");
        t.setDaemon(true);
        t.start();
        int port;
        try {
            port = listening.get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            p.destroyForcibly();
            throw new IOException("the backend did not start", e);
        }
        return new BackendProcess(p, port);
    }

    private static byte[] sha(String hex) {
        return hex.equals("-") ? null : HexFormat.of().parseHex(hex);
    }

    void releaseBarrier() {
        commands.println("B");
    }

    void reset(long id) {
        commands.println("K\t" + id);
    }

    /** Asks the backend to exit; waits up to 30 s, then kills it. */
    void stop() {
        commands.println("Q");
        try {
            if (!process.waitFor(30, TimeUnit.SECONDS)) process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
