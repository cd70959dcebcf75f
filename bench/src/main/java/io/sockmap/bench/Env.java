package io.sockmap.bench;

import java.nio.file.Path;

/**
 * Where things are: the JVMs, the jars, HAProxy, strace, the log directory.
 *
 * @param java      JVM for proxies that run on JDK 17 (the default {@code java})
 * @param java21    JVM for proxies that need JDK 21+ (virtual threads), or null if there is none
 * @param benchJava JVM for the backends (this JVM's own; virtual threads when it is 21+)
 */
record Env(String java, String java21, String benchJava, Path examplesJar, Path agentJar, String haproxy,
           String strace, Path logDir) {

    /** The JVM for a proxy that needs {@code minJdk}, or null if none is available. */
    String javaFor(int minJdk) {
        return minJdk <= 17 ? java : java21;
    }
}
