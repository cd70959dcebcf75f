package io.sockmap.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A server process the benchmark started (backend, Java proxy, HAProxy): its stdout and stderr go
 * to files in the log directory; {@link #close()} sends SIGTERM (so the agent prints its exit
 * summary) and SIGKILL after 5 s.
 */
final class Launched implements AutoCloseable {

    private static final Pattern LISTENING = Pattern.compile("(?m)^listening on (\\d+)$");

    final String name;
    final Process process;
    final Path out;
    final Path err;
    final int port;

    private Launched(String name, Process process, Path out, Path err, int port) {
        this.name = name;
        this.process = process;
        this.out = out;
        this.err = err;
        this.port = port;
    }

    long pid() {
        return process.pid();
    }

    /** Starts {@code command} and waits (up to 60 s) for "listening on PORT" on its stdout. */
    static Launched javaServer(String name, List<String> command, Path logDir) throws IOException, InterruptedException {
        Process p = start(name, command, logDir);
        Path out = logDir.resolve(name + ".out");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            Matcher m = LISTENING.matcher(Files.readString(out));
            if (m.find()) {
                return new Launched(name, p, out, logDir.resolve(name + ".err"), Integer.parseInt(m.group(1)));
            }
            if (!p.isAlive()) {
                throw new IOException(name + " exited (" + p.exitValue() + ") before listening: "
                        + tail(logDir.resolve(name + ".err")));
            }
            Thread.sleep(50);
        }
        p.destroyForcibly();
        throw new IOException(name + " did not print 'listening on <port>' within 60 s");
    }

    /** Starts {@code command} and waits (up to 30 s) until {@code port} on loopback accepts connections. */
    static Launched portServer(String name, List<String> command, int port, Path logDir)
            throws IOException, InterruptedException {
        Process p = start(name, command, logDir);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
                return new Launched(name, p, logDir.resolve(name + ".out"), logDir.resolve(name + ".err"), port);
            } catch (IOException e) {
                if (!p.isAlive()) {
                    throw new IOException(name + " exited (" + p.exitValue() + "): " + tail(logDir.resolve(name + ".err")));
                }
                Thread.sleep(50);
            }
        }
        p.destroyForcibly();
        throw new IOException(name + " did not accept connections on port " + port + " within 30 s");
    }

    private static Process start(String name, List<String> command, Path logDir) throws IOException {
        Files.createDirectories(logDir);
        Files.writeString(logDir.resolve(name + ".cmd"), String.join(" ", command) + "\n");
        return new ProcessBuilder(command)
                .redirectOutput(logDir.resolve(name + ".out").toFile())
                .redirectError(logDir.resolve(name + ".err").toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .start();
    }

    static String tail(Path file) {
        try {
            List<String> lines = Files.readAllLines(file);
            return String.join(" | ", lines.subList(Math.max(0, lines.size() - 5), lines.size()));
        } catch (IOException e) {
            return "(no " + file + ")";
        }
    }

    /** The last line of stderr that contains {@code marker}, or null. */
    String lastErrLine(String marker) {
        try {
            String found = null;
            for (String line : Files.readAllLines(err)) {
                if (line.contains(marker)) {
                    found = line;
                }
            }
            return found;
        } catch (IOException e) {
            return null;
        }
    }

    @Override
    public void close() {
        if (!process.isAlive()) {
            return;
        }
        process.destroy();
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
