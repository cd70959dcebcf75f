package io.sockmap.examples;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Thread factories. The module is compiled for Java 17, so virtual threads (JDK 21+) are reached
 * through method handles on {@code Thread.ofVirtual().name(prefix, 0).factory()}.
 */
final class Threads {

    /** Stack size for the per-connection platform threads of the backend and the load client. */
    static final long SMALL_STACK = 256 * 1024;

    private static final MethodHandle OF_VIRTUAL;
    private static final MethodHandle NAME;
    private static final MethodHandle FACTORY;
    private static final String UNAVAILABLE;

    static {
        MethodHandle ofVirtual = null;
        MethodHandle name = null;
        MethodHandle factory = null;
        String why = null;
        if (Runtime.version().feature() < 21) {
            why = "virtual threads need JDK 21 or later; this is Java " + Runtime.version();
        } else {
            try {
                Class<?> builder = Class.forName("java.lang.Thread$Builder");
                Class<?> ofVirtualType = Class.forName("java.lang.Thread$Builder$OfVirtual");
                MethodHandles.Lookup lookup = MethodHandles.publicLookup();
                ofVirtual = lookup.findStatic(Thread.class, "ofVirtual", MethodType.methodType(ofVirtualType));
                name = lookup.findVirtual(ofVirtualType, "name",
                        MethodType.methodType(ofVirtualType, String.class, long.class));
                factory = lookup.findVirtual(builder, "factory", MethodType.methodType(ThreadFactory.class));
            } catch (ReflectiveOperationException e) {
                why = "virtual threads are not available on Java " + Runtime.version() + ": " + e;
                ofVirtual = name = factory = null;
            }
        }
        OF_VIRTUAL = ofVirtual;
        NAME = name;
        FACTORY = factory;
        UNAVAILABLE = why;
    }

    private Threads() {
    }

    static boolean virtualAvailable() {
        return UNAVAILABLE == null;
    }

    /**
     * A factory of virtual threads named {@code prefix0, prefix1, ...}.
     *
     * @throws UnsupportedOperationException on JDK &lt; 21, with a message saying so
     */
    static ThreadFactory virtual(String prefix) {
        if (UNAVAILABLE != null) {
            throw new UnsupportedOperationException(UNAVAILABLE);
        }
        try {
            Object builder = OF_VIRTUAL.invoke();
            builder = NAME.invoke(builder, prefix, 0L);
            return (ThreadFactory) FACTORY.invoke(builder);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new UnsupportedOperationException("cannot create virtual threads: " + t, t);
        }
    }

    /** Daemon platform threads named {@code prefix0, prefix1, ...}; {@code stackSize} 0 = JVM default. */
    static ThreadFactory platform(String prefix, long stackSize) {
        AtomicLong ids = new AtomicLong();
        return r -> {
            Thread t = new Thread(null, r, prefix + ids.getAndIncrement(), stackSize);
            t.setDaemon(true);
            return t;
        };
    }

    /**
     * Virtual threads when the JDK has them, small-stack platform threads otherwise: for the
     * backend and the load client, which must hold 10,000 connections (not for the proxies,
     * whose threading model is the point of each example).
     */
    static ThreadFactory perConnection(String prefix) {
        return virtualAvailable() ? virtual(prefix) : platform(prefix, SMALL_STACK);
    }
}
