package io.sockmap.agent.boot;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.MalformedURLException;
import java.net.URL;
import java.security.CodeSigner;
import java.security.CodeSource;
import java.security.ProtectionDomain;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;
import java.util.TreeSet;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.Manifest;

/**
 * The agent's isolated class loader: serves the agent jar's {@value #PREFIX} entries, where every
 * {@code .class} is stored as {@code .classdata} so that no other loader (the application's class
 * path includes the agent jar) can define them.
 *
 * <p>Names are the normal ones both ways: class {@code a.b.C} is entry
 * {@code inst/a/b/C.classdata}; resource {@code a/b/C.class} is the same entry, and any other
 * resource {@code x/y} is {@code inst/x/y} (e.g. {@code io/sockmap/bpf/splice.o},
 * {@code com/sun/jna/linux-x86-64/libjnidispatch.so}). Resources are {@code jar:} URLs into the
 * agent jar, so JNA extracts its native library from them as from any jar. Multi-release entries
 * ({@code inst/META-INF/versions/N/...}, N up to the running feature version) win over the base
 * entry. Resources {@code io/sockmap/bootstrap/**} also resolve to the top-level copies, in case
 * the parent cannot see the bootstrap append path. Parent first; the parent should be the
 * platform class loader (or null, bootstrap), never the application's.
 */
public final class AgentClassLoader extends ClassLoader {
    static {
        ClassLoader.registerAsParallelCapable();
    }

    public static final String PREFIX = "inst/";
    public static final String CLASS_SUFFIX = ".classdata";
    private static final String VERSIONS = PREFIX + "META-INF/versions/";
    private static final String BOOTSTRAP_PATH = BootstrapInjector.PACKAGE_PATH;

    private final JarFile jar;
    private final URL jarUrl;
    private final String jarUrlPrefix;
    private final ProtectionDomain domain;
    private final Attributes mainAttributes;
    /** Multi-release directories usable on this JVM, highest first. */
    private final int[] versions;

    /** @param jar the agent jar; stays open for the life of the loader */
    public AgentClassLoader(JarFile jar, ClassLoader parent) throws IOException {
        super("sockmap-agent", parent);
        this.jar = jar;
        this.jarUrl = new File(jar.getName()).toURI().toURL();
        this.jarUrlPrefix = "jar:" + jarUrl + "!/";
        this.domain = new ProtectionDomain(new CodeSource(jarUrl, (CodeSigner[]) null), null, this, null);
        Manifest m = jar.getManifest();
        this.mainAttributes = m == null ? new Attributes() : m.getMainAttributes();
        this.versions = versions(jar, Runtime.version().feature());
    }

    private static int[] versions(JarFile jar, int feature) {
        TreeSet<Integer> found = new TreeSet<>(Collections.reverseOrder());
        for (Enumeration<JarEntry> e = jar.entries(); e.hasMoreElements(); ) {
            String n = e.nextElement().getName();
            if (!n.startsWith(VERSIONS)) continue;
            int slash = n.indexOf('/', VERSIONS.length());
            if (slash < 0) continue;
            try {
                int v = Integer.parseInt(n.substring(VERSIONS.length(), slash));
                if (v <= feature) found.add(v);
            } catch (NumberFormatException ignored) {
                // not a version directory
            }
        }
        return found.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The {@code inst/} entry for a resource name, or null. */
    JarEntry entryFor(String resourceName) {
        if (resourceName.isEmpty() || resourceName.startsWith("/")) return null;
        String stored = resourceName.endsWith(".class")
                ? resourceName.substring(0, resourceName.length() - ".class".length()) + CLASS_SUFFIX
                : resourceName;
        for (int v : versions) {
            JarEntry e = jar.getJarEntry(VERSIONS + v + '/' + stored);
            if (e != null) return e;
        }
        return jar.getJarEntry(PREFIX + stored);
    }

    @Override
    protected Class<?> findClass(String name) throws ClassNotFoundException {
        JarEntry entry = entryFor(name.replace('.', '/') + ".class");
        if (entry == null) throw new ClassNotFoundException(name);
        byte[] bytes;
        try (InputStream in = jar.getInputStream(entry)) {
            bytes = in.readAllBytes();
        } catch (IOException e) {
            throw new ClassNotFoundException(name + ": cannot read " + entry.getName(), e);
        }
        definePackageOf(name);
        return defineClass(name, bytes, 0, bytes.length, domain);
    }

    private void definePackageOf(String className) {
        int dot = className.lastIndexOf('.');
        if (dot < 0) return;
        String pkg = className.substring(0, dot);
        if (getDefinedPackage(pkg) != null) return;
        try {
            if (pkg.startsWith("io.sockmap.")) {
                // our own packages carry the agent jar's version (AgentMain reports it)
                Attributes a = mainAttributes;
                definePackage(pkg, a.getValue(Attributes.Name.SPECIFICATION_TITLE),
                        a.getValue(Attributes.Name.SPECIFICATION_VERSION), a.getValue(Attributes.Name.SPECIFICATION_VENDOR),
                        a.getValue(Attributes.Name.IMPLEMENTATION_TITLE), a.getValue(Attributes.Name.IMPLEMENTATION_VERSION),
                        a.getValue(Attributes.Name.IMPLEMENTATION_VENDOR), null);
            } else {
                definePackage(pkg, null, null, null, null, null, null, null);
            }
        } catch (IllegalArgumentException raced) {
            // defined concurrently by another thread
        }
    }

    @Override
    protected URL findResource(String name) {
        JarEntry entry = entryFor(name);
        if (entry == null && name.startsWith(BOOTSTRAP_PATH)) entry = jar.getJarEntry(name);
        if (entry == null) return null;
        try {
            return new URL(jarUrlPrefix + entry.getName());
        } catch (MalformedURLException e) {
            return null;
        }
    }

    @Override
    protected Enumeration<URL> findResources(String name) {
        URL url = findResource(name);
        List<URL> list = new ArrayList<>(1);
        if (url != null) list.add(url);
        return Collections.enumeration(list);
    }

    /** Reads straight from the open jar (no URL connection) when the parent does not have it. */
    @Override
    public InputStream getResourceAsStream(String name) {
        ClassLoader parent = getParent();
        if (parent == null) return super.getResourceAsStream(name); // bootstrap parent: the URL way
        InputStream fromParent = parent.getResourceAsStream(name);
        if (fromParent != null) return fromParent;
        JarEntry entry = entryFor(name);
        if (entry == null && name.startsWith(BOOTSTRAP_PATH)) entry = jar.getJarEntry(name);
        if (entry == null) return null;
        try {
            return jar.getInputStream(entry);
        } catch (IOException e) {
            return null;
        }
    }

    /** The agent jar's location. */
    public URL jarLocation() {
        return jarUrl;
    }

    @Override
    public String toString() {
        return "AgentClassLoader[" + jarUrl + "]";
    }
}
