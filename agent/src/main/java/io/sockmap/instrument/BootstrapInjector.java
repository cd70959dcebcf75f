package io.sockmap.instrument;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.instrument.Instrumentation;
import java.nio.file.Files;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;

/**
 * Puts the {@code io.sockmap.bootstrap} classes into the bootstrap class loader, where
 * instrumented {@code java.base} code can see them: unless they are there already (the agent
 * jar's {@code Boot-Class-Path}, or a previous install), their bytes are read as resources from
 * the agent's class loader, written to a temporary jar and appended to the bootstrap search path.
 */
final class BootstrapInjector {
    static final String BRIDGE = "io.sockmap.bootstrap.SocketBridge";
    static final String[] CLASSES = {"io.sockmap.bootstrap.SocketHooks", BRIDGE,
            "io.sockmap.bootstrap.ChannelHooks", "io.sockmap.bootstrap.ChannelBridge"};

    private BootstrapInjector() {}

    /** Returns the bridge class as the bootstrap loader defines it. */
    static Class<?> ensureBridge(Instrumentation inst, ClassLoader agentLoader) throws IOException {
        Class<?> bridge = inBootstrap(BRIDGE);
        if (bridge == null) {
            File jar = Files.createTempFile("sockmap-bootstrap", ".jar").toFile();
            jar.deleteOnExit();
            try (OutputStream file = Files.newOutputStream(jar.toPath());
                 JarOutputStream out = new JarOutputStream(file)) {
                for (String name : CLASSES) {
                    String resource = name.replace('.', '/') + ".class";
                    out.putNextEntry(new JarEntry(resource));
                    out.write(classBytes(agentLoader, resource));
                    out.closeEntry();
                }
            }
            inst.appendToBootstrapClassLoaderSearch(new JarFile(jar));
            bridge = inBootstrap(BRIDGE);
            if (bridge == null) throw new IllegalStateException("bridge classes not visible to the bootstrap loader after appending " + jar);
        }
        // the agent must see the same classes, not a copy its own loader defined before
        for (String name : CLASSES) {
            Class<?> seen;
            try {
                seen = Class.forName(name, false, agentLoader);
            } catch (ClassNotFoundException e) {
                throw new IllegalStateException("agent class loader cannot see " + name, e);
            }
            if (seen.getClassLoader() != null) {
                throw new IllegalStateException(name + " was loaded by " + seen.getClassLoader()
                        + " before it reached the bootstrap class loader");
            }
        }
        return bridge;
    }

    private static Class<?> inBootstrap(String name) {
        try {
            return Class.forName(name, false, null);
        } catch (ClassNotFoundException | LinkageError e) {
            return null;
        }
    }

    private static byte[] classBytes(ClassLoader agentLoader, String resource) throws IOException {
        ClassLoader[] loaders = {agentLoader, ClassLoader.getSystemClassLoader()};
        for (ClassLoader loader : loaders) {
            if (loader == null) continue;
            try (InputStream in = loader.getResourceAsStream(resource)) {
                if (in != null) return in.readAllBytes();
            }
        }
        throw new IOException("class bytes not found as a resource: " + resource);
    }
}
