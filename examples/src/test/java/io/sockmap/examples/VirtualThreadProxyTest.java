package io.sockmap.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * On JDK &lt; 21 the proxy must refuse clearly; on JDK 21+ (this JVM, or one found in
 * $JAVA21_HOME or /usr/lib/jvm) it must relay 32 MiB correctly as a separate process.
 */
class VirtualThreadProxyTest {

    private static String java(Path home) {
        return home.resolve("bin").resolve("java").toString();
    }

    /** A JDK 21+ {@code java} other than this one, if any. */
    private static Optional<String> jdk21() {
        if (Threads.virtualAvailable()) {
            return Optional.of(java(Path.of(System.getProperty("java.home"))));
        }
        String env = System.getenv("JAVA21_HOME");
        if (env != null && Files.isExecutable(Path.of(java(Path.of(env))))) {
            return Optional.of(java(Path.of(env)));
        }
        Path jvms = Path.of("/usr/lib/jvm");
        if (!Files.isDirectory(jvms)) {
            return Optional.empty();
        }
        try (Stream<Path> homes = Files.list(jvms)) {
            return homes.filter(h -> feature(h.resolve("release")) >= 21)
                    .filter(h -> Files.isExecutable(Path.of(java(h))))
                    .map(VirtualThreadProxyTest::java)
                    .findFirst();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private static int feature(Path release) {
        try {
            Matcher m = Pattern.compile("JAVA_VERSION=\"(\\d+)").matcher(Files.readString(release));
            return m.find() ? Integer.parseInt(m.group(1)) : 0;
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    private static Process start(String java, String... args) throws IOException {
        List<String> cmd = new java.util.ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path"),
                "io.sockmap.examples.VirtualThreadProxy"));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    }

    @Test
    void refusesBeforeJdk21() throws Exception {
        assumeTrue(!Threads.virtualAvailable(), "this JVM has virtual threads");
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> VirtualThreadProxy.launch("--target", "127.0.0.1:1"));
        assertTrue(e.getMessage().contains("JDK 21"), e.getMessage());
        Process p = new ProcessBuilder(java(Path.of(System.getProperty("java.home"))), "-cp",
                System.getProperty("java.class.path"), "io.sockmap.examples.VirtualThreadProxy",
                "--target", "127.0.0.1:1").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(2, p.exitValue(), out);
        assertTrue(out.contains("JDK 21"), out);
    }

    @Test
    void relaysOnJdk21InASeparateProcess() throws Exception {
        Optional<String> java = jdk21();
        assumeTrue(java.isPresent(), "no JDK 21+ found (set JAVA21_HOME)");
        try (Backend echo = Backend.launch("--mode", "echo"); Backend sink = Backend.launch("--mode", "sink")) {
            for (Backend backend : new Backend[] {echo, sink}) {
                Process p = start(java.get(), "--listen", "0", "--target", Fixtures.target(backend));
                try {
                    BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
                    String line = out.readLine();
                    assertNotNull(line, "VirtualThreadProxy exited without listening");
                    Matcher m = Pattern.compile("listening on (\\d+)").matcher(line);
                    assertTrue(m.matches(), line);
                    String mode = backend == echo ? "echo" : "sink";
                    LoadClient.Result r = LoadClient.run("--target", "127.0.0.1:" + m.group(1), "--backend", mode,
                            "--streams", "2", "--bytes", "16M", "--idle-timeout", "20");
                    assertTrue(r.ok(), () -> java.get() + ": " + r.summary() + " " + r.problems());
                    assertEquals(32L << 20, ((LoadClient.BulkResult) r).bytesReceived());
                } finally {
                    p.destroy();
                    if (!p.waitFor(10, TimeUnit.SECONDS)) {
                        p.destroyForcibly();
                    }
                }
            }
        }
        assertTrue(new File(java.get()).canExecute());
    }
}
