package io.sockmap.agent.boot;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.instrument.Instrumentation;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.Enumeration;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;

/**
 * Puts the bridge classes into the bootstrap class loader. Every top-level entry of the agent jar
 * under {@value #PACKAGE_PATH} ending in {@code .class} is copied into a temporary jar
 * ({@code java.io.tmpdir}, created exclusively with owner-only permissions), which is appended with
 * {@link Instrumentation#appendToBootstrapClassLoaderSearch} and deleted right away: the JVM keeps
 * its own open handle. Only those classes become bootstrap-visible; appending the agent jar itself
 * would expose every top-level entry.
 */
final class BootstrapInjector {
    static final String PACKAGE_PATH = "io/sockmap/bootstrap/";

    private BootstrapInjector() {}

    /** @return the injected entry names (empty if the jar has no bridge classes: nothing is appended) */
    static List<String> inject(JarFile agentJar, Instrumentation inst) throws IOException {
        List<JarEntry> entries = new ArrayList<>();
        for (Enumeration<JarEntry> e = agentJar.entries(); e.hasMoreElements(); ) {
            JarEntry entry = e.nextElement();
            if (!entry.isDirectory() && entry.getName().startsWith(PACKAGE_PATH) && entry.getName().endsWith(".class")) {
                entries.add(entry);
            }
        }
        List<String> names = new ArrayList<>();
        if (entries.isEmpty()) return names;
        Path tmp = createPrivateFile(Path.of(System.getProperty("java.io.tmpdir")));
        try {
            try (OutputStream file = Files.newOutputStream(tmp); JarOutputStream out = new JarOutputStream(file)) {
                for (JarEntry entry : entries) {
                    out.putNextEntry(new JarEntry(entry.getName()));
                    try (InputStream in = agentJar.getInputStream(entry)) {
                        in.transferTo(out);
                    }
                    out.closeEntry();
                    names.add(entry.getName());
                }
            }
            try (JarFile bootJar = new JarFile(tmp.toFile(), false)) {
                inst.appendToBootstrapClassLoaderSearch(bootJar);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
        return names;
    }

    /**
     * A new owner-only file (O_EXCL, so never someone else's file or symlink). Not
     * {@code Files.createTempFile}: its name comes from {@code SecureRandom}, whose initialisation
     * loads the security providers into every application at start-up.
     */
    static Path createPrivateFile(Path dir) throws IOException {
        long pid = ProcessHandle.current().pid();
        for (int attempt = 0; ; attempt++) {
            Path p = dir.resolve("sockmap-bootstrap-" + pid + "-" + Long.toHexString(System.nanoTime()) + ".jar");
            try {
                return Files.createFile(p, PosixFilePermissions.asFileAttribute(
                        EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE)));
            } catch (FileAlreadyExistsException e) {
                if (attempt >= 20) throw e;
            }
        }
    }
}
