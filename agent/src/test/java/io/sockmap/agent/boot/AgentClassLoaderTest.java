package io.sockmap.agent.boot;

import io.sockmap.agent.boot.fixture.Sample;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AgentClassLoaderTest {
    @TempDir
    Path dir;

    static byte[] classBytes(Class<?> c) throws IOException {
        try (InputStream in = c.getResourceAsStream(c.getSimpleName() + ".class")) {
            return in.readAllBytes();
        }
    }

    /** A jar laid out like sockmap-agent.jar. */
    static Path agentJar(Path dir, Map<String, byte[]> entries) throws IOException {
        Manifest m = new Manifest();
        m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        m.getMainAttributes().put(Attributes.Name.IMPLEMENTATION_VERSION, "9.9.9");
        Path jar = Files.createTempFile(dir, "agent", ".jar"); // a new name: jar: URLs cache by file
        try (OutputStream o = Files.newOutputStream(jar); JarOutputStream out = new JarOutputStream(o, m)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                out.putNextEntry(new JarEntry(e.getKey()));
                out.write(e.getValue());
                out.closeEntry();
            }
        }
        return jar;
    }

    Map<String, byte[]> layout() throws Exception {
        Map<String, byte[]> e = new LinkedHashMap<>();
        e.put("io/sockmap/agent/boot/AgentBoot.class", classBytes(AgentBoot.class));
        e.put("io/sockmap/bootstrap/Bridge.class", "bridge".getBytes(StandardCharsets.UTF_8));
        e.put("inst/io/sockmap/agent/boot/fixture/Sample.classdata", classBytes(Sample.class));
        e.put("inst/io/sockmap/agent/boot/fixture/Helper.classdata",
                classBytes(Class.forName("io.sockmap.agent.boot.fixture.Helper", false, getClass().getClassLoader())));
        e.put("inst/io/sockmap/bpf/splice.o", "ELF".getBytes(StandardCharsets.UTF_8));
        e.put("inst/data/v.txt", "base".getBytes(StandardCharsets.UTF_8));
        e.put("inst/META-INF/versions/9/data/v.txt", "nine".getBytes(StandardCharsets.UTF_8));
        e.put("inst/META-INF/versions/11/data/v.txt", "eleven".getBytes(StandardCharsets.UTF_8));
        e.put("inst/META-INF/versions/999/data/v.txt", "future".getBytes(StandardCharsets.UTF_8));
        e.put("inst/META-INF/services/x.Y", "impl".getBytes(StandardCharsets.UTF_8));
        return e;
    }

    @Test
    void loadsClassdataAsClassesInItsOwnLoader() throws Exception {
        try (JarFile jar = new JarFile(agentJar(dir, layout()).toFile())) {
            AgentClassLoader loader = new AgentClassLoader(jar, ClassLoader.getPlatformClassLoader());
            Class<?> c = Class.forName("io.sockmap.agent.boot.fixture.Sample", true, loader);
            assertNotSame(Sample.class, c);
            assertSame(loader, c.getClassLoader());
            assertSame(c, loader.loadClass("io.sockmap.agent.boot.fixture.Sample"));
            @SuppressWarnings("unchecked")
            Supplier<String> s = (Supplier<String>) c.getConstructor().newInstance();
            assertEquals("hello from sockmap-agent", s.get());
            assertEquals("9.9.9", c.getPackage().getImplementationVersion());
            assertEquals(jar.getName(), Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toString());
            // the application's classes and the agent's boot classes are not reachable through it
            assertThrows(ClassNotFoundException.class, () -> loader.loadClass(AgentClassLoaderTest.class.getName()));
            assertThrows(ClassNotFoundException.class, () -> loader.loadClass("io.sockmap.agent.boot.AgentBoot"));
            assertThrows(ClassNotFoundException.class, () -> loader.loadClass("data.v"));
            // JDK classes come from the parent
            assertSame(String.class, loader.loadClass("java.lang.String"));
            assertSame(java.sql.Date.class, loader.loadClass("java.sql.Date"));
        }
    }

    @Test
    void servesEntriesAsResourcesUnderTheirNormalNames() throws Exception {
        Map<String, byte[]> layout = layout();
        try (JarFile jar = new JarFile(agentJar(dir, layout).toFile())) {
            AgentClassLoader loader = new AgentClassLoader(jar, ClassLoader.getPlatformClassLoader());
            URL classUrl = loader.getResource("io/sockmap/agent/boot/fixture/Sample.class");
            assertNotNull(classUrl);
            assertEquals("jar", classUrl.getProtocol());
            try (InputStream in = classUrl.openStream()) {
                assertArrayEquals(layout.get("inst/io/sockmap/agent/boot/fixture/Sample.classdata"), in.readAllBytes());
            }
            try (InputStream in = loader.getResourceAsStream("io/sockmap/agent/boot/fixture/Sample.class")) {
                assertArrayEquals(classBytes(Sample.class), in.readAllBytes());
            }
            try (InputStream in = Class.forName("io.sockmap.agent.boot.fixture.Sample", false, loader)
                    .getResourceAsStream("/io/sockmap/bpf/splice.o")) {
                assertEquals("ELF", new String(in.readAllBytes(), StandardCharsets.UTF_8));
            }
            assertEquals("impl", read(loader.getResource("META-INF/services/x.Y")));
            assertEquals(1, Collections.list(loader.getResources("META-INF/services/x.Y")).size());
            assertEquals(0, Collections.list(loader.getResources("META-INF/services/none")).size());
            // bridge classes resolve to their top-level copy
            assertEquals("bridge", read(loader.getResource("io/sockmap/bootstrap/Bridge.class")));
            assertEquals("bridge", new String(loader.getResourceAsStream("io/sockmap/bootstrap/Bridge.class").readAllBytes(),
                    StandardCharsets.UTF_8));
            // nothing outside inst/ (other than the bridge) and no .classdata names leak
            assertNull(loader.getResource("io/sockmap/agent/boot/AgentBoot.class"));
            assertNull(loader.getResource("inst/io/sockmap/bpf/splice.o"));
            assertNull(loader.getResource("/io/sockmap/bpf/splice.o"));
            assertNull(loader.getResource(""));
            // JDK resources through the parent
            assertNotNull(loader.getResource("java/lang/String.class"));
            assertNotNull(loader.getResourceAsStream("java/lang/String.class"));
        }
    }

    @Test
    void multiReleaseEntriesUpToTheRunningVersion() throws Exception {
        try (JarFile jar = new JarFile(agentJar(dir, layout()).toFile())) {
            AgentClassLoader loader = new AgentClassLoader(jar, null);
            assertEquals("eleven", read(loader.getResource("data/v.txt")));
            assertEquals("eleven", new String(loader.getResourceAsStream("data/v.txt").readAllBytes(), StandardCharsets.UTF_8));
        }
        Map<String, byte[]> baseOnly = new LinkedHashMap<>();
        baseOnly.put("inst/data/v.txt", "base".getBytes(StandardCharsets.UTF_8));
        try (JarFile jar = new JarFile(agentJar(dir, baseOnly).toFile())) {
            assertEquals("base", read(new AgentClassLoader(jar, null).getResource("data/v.txt")));
        }
    }

    @Test
    void parallelCapable() throws Exception {
        try (JarFile jar = new JarFile(agentJar(dir, layout()).toFile())) {
            assertTrue(new AgentClassLoader(jar, null).isRegisteredAsParallelCapable());
            assertEquals(List.of(), List.of());
        }
    }

    private static String read(URL url) throws IOException {
        assertNotNull(url);
        try (InputStream in = url.openStream()) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
