package io.sockmap.agent.boot;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.instrument.Instrumentation;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

class BootstrapInjectorTest {
    @TempDir
    Path dir;

    /** Records what appendToBootstrapClassLoaderSearch was given, while the file still exists. */
    static final class Recorder {
        final List<String> jars = new ArrayList<>();
        final List<List<String>> entries = new ArrayList<>();
        final List<Set<PosixFilePermission>> permissions = new ArrayList<>();

        Instrumentation instrumentation() {
            return (Instrumentation) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[]{Instrumentation.class},
                    (proxy, method, args) -> {
                        if (!method.getName().equals("appendToBootstrapClassLoaderSearch")) {
                            throw new UnsupportedOperationException(method.getName());
                        }
                        JarFile jar = (JarFile) args[0];
                        jars.add(jar.getName());
                        List<String> names = new ArrayList<>();
                        for (JarEntry e : Collections.list(jar.entries())) names.add(e.getName());
                        entries.add(names);
                        permissions.add(Files.getPosixFilePermissions(Path.of(jar.getName())));
                        return null;
                    });
        }
    }

    @Test
    void copiesOnlyBridgeClassesAndDeletesTheTemporaryJar() throws Exception {
        Map<String, byte[]> layout = new LinkedHashMap<>();
        byte[] x = "x".getBytes(StandardCharsets.UTF_8);
        layout.put("io/sockmap/agent/boot/AgentBoot.class", x);
        layout.put("io/sockmap/bootstrap/SocketBridge.class", x);
        layout.put("io/sockmap/bootstrap/inner/Hooks$1.class", x);
        layout.put("io/sockmap/bootstrap/notes.txt", x);
        layout.put("inst/io/sockmap/bootstrap/Hidden.classdata", x);
        layout.put("inst/io/sockmap/agent/AgentMain.classdata", x);
        Path agent = AgentClassLoaderTest.agentJar(dir, layout);
        Recorder r = new Recorder();
        try (JarFile jar = new JarFile(agent.toFile())) {
            List<String> injected = BootstrapInjector.inject(jar, r.instrumentation());
            assertEquals(List.of("io/sockmap/bootstrap/SocketBridge.class", "io/sockmap/bootstrap/inner/Hooks$1.class"), injected);
        }
        assertEquals(1, r.jars.size());
        assertEquals(List.of("io/sockmap/bootstrap/SocketBridge.class", "io/sockmap/bootstrap/inner/Hooks$1.class"), r.entries.get(0));
        assertEquals(EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE), r.permissions.get(0));
        assertFalse(Files.exists(Path.of(r.jars.get(0))), "the temporary jar is deleted after the append");
    }

    @Test
    void nothingToInjectAppendsNothing() throws Exception {
        Map<String, byte[]> layout = new LinkedHashMap<>();
        layout.put("inst/io/sockmap/agent/AgentMain.classdata", new byte[]{1});
        Recorder r = new Recorder();
        try (JarFile jar = new JarFile(AgentClassLoaderTest.agentJar(dir, layout).toFile())) {
            assertEquals(List.of(), BootstrapInjector.inject(jar, r.instrumentation()));
        }
        assertEquals(List.of(), r.jars);
    }

    @Test
    void privateFilesAreNew() throws Exception {
        Path a = BootstrapInjector.createPrivateFile(dir);
        Path b = BootstrapInjector.createPrivateFile(dir);
        assertNotEquals(a, b);
        assertEquals(EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE), Files.getPosixFilePermissions(a));
    }
}
