package io.sockmap.instrument;

import io.sockmap.engine.SocketFds;
import io.sockmap.agent.AgentConfig;
import io.sockmap.agent.AgentLog;
import io.sockmap.engine.SpliceEngine;
import net.bytebuddy.agent.builder.AgentBuilder;
import net.bytebuddy.agent.builder.ResettableClassFileTransformer;
import net.bytebuddy.asm.Advice;
import net.bytebuddy.matcher.ElementMatchers;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.dynamic.DynamicType;
import net.bytebuddy.utility.JavaModule;

import io.sockmap.instrument.netty.NettyAcceptAdvice;
import io.sockmap.instrument.netty.NettyCloseAdvice;
import io.sockmap.instrument.netty.NettyEpollCtlAdvice;
import io.sockmap.instrument.netty.NettyEpollCtlDelAdvice;
import io.sockmap.instrument.netty.NettyReadAddressAdvice;
import io.sockmap.instrument.netty.NettyReadAdvice;
import io.sockmap.instrument.netty.NettyWriteAddressAdvice;
import io.sockmap.instrument.netty.NettyWriteAdvice;
import io.sockmap.instrument.netty.NettyWritevAddressesAdvice;
import io.sockmap.instrument.netty.NettyWritevAdvice;
import io.sockmap.instrument.nio.ChannelAcceptAdvice;
import io.sockmap.instrument.nio.ChannelCloseAdvice;
import io.sockmap.instrument.nio.ChannelGatherWriteAdvice;
import io.sockmap.instrument.nio.ChannelInterestAdvice;
import io.sockmap.instrument.nio.ChannelReadAdvice;
import io.sockmap.instrument.nio.ChannelScatterReadAdvice;
import io.sockmap.instrument.nio.ChannelWriteAdvice;
import net.bytebuddy.description.method.MethodDescription;
import net.bytebuddy.matcher.ElementMatcher;

import java.lang.instrument.Instrumentation;
import java.nio.ByteBuffer;
import java.net.Socket;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import static net.bytebuddy.matcher.ElementMatchers.isConstructor;
import static net.bytebuddy.matcher.ElementMatchers.isPublic;
import static net.bytebuddy.matcher.ElementMatchers.isStatic;
import static net.bytebuddy.matcher.ElementMatchers.nameEndsWith;
import static net.bytebuddy.matcher.ElementMatchers.named;
import static net.bytebuddy.matcher.ElementMatchers.namedOneOf;
import static net.bytebuddy.matcher.ElementMatchers.not;
import static net.bytebuddy.matcher.ElementMatchers.takesArguments;

/**
 * Installs the socket instrumentation: the bridge into the bootstrap loader, {@code java.base}
 * reading it, the advice on the four JDK methods (retransforming them if loaded), then the hooks.
 * All or nothing: if any method cannot be instrumented, nothing is active. Never throws.
 *
 * <table>
 *   <caption>Instrumented methods (same names on JDK 17, 21 and 25)</caption>
 *   <tr><td>{@code java.net.Socket$SocketInputStream.read(byte[],int,int)}</td><td>{@link SocketReadAdvice}</td></tr>
 *   <tr><td>{@code java.net.Socket$SocketInputStream.available()}</td><td>{@link SocketAvailableAdvice}</td></tr>
 *   <tr><td>{@code java.net.Socket$SocketOutputStream.write(byte[],int,int)}</td><td>{@link SocketWriteAdvice}</td></tr>
 *   <tr><td>{@code java.net.Socket.close()}</td><td>{@link SocketCloseAdvice}</td></tr>
 *   <tr><td>{@code java.net.ServerSocket.implAccept(Socket)}</td><td>{@link AcceptAdvice}</td></tr>
 *   <tr><td>{@code sun.nio.ch.SocketChannelImpl} read/write (single and vectored), {@code implCloseSelectableChannel()}, {@code translateInterestOps(int)}</td>
 *       <td>{@code instrument.nio}</td></tr>
 *   <tr><td>{@code sun.nio.ch.ServerSocketChannelImpl.accept()}</td><td>{@code instrument.nio}</td></tr>
 *   <tr><td>Netty {@code io.netty.channel.unix.FileDescriptor} and {@code Socket}, {@code io.netty.channel.epoll.Native}
 *       {@code epollCtlAdd/Mod/Del} (when loaded; not required)</td>
 *       <td>{@code instrument.netty}</td></tr>
 * </table>
 * {@code read()}, {@code write(int)} and {@code InputStream.transferTo} go through the first two
 * (no JDK version overrides {@code transferTo} for socket streams); the streams' {@code close()}
 * calls {@code Socket.close()}.
 */
public final class Instrumenter {
    static final String SOCKET_INPUT_STREAM = "java.net.Socket$SocketInputStream";
    static final String SOCKET_OUTPUT_STREAM = "java.net.Socket$SocketOutputStream";
    static final String SOCKET = "java.net.Socket";
    static final String SERVER_SOCKET = "java.net.ServerSocket";
    static final String SOCKET_CHANNEL = "sun.nio.ch.SocketChannelImpl";
    static final String SERVER_SOCKET_CHANNEL = "sun.nio.ch.ServerSocketChannelImpl";
    private static final String[] TYPES = {SOCKET_INPUT_STREAM, SOCKET_OUTPUT_STREAM, SOCKET, SERVER_SOCKET,
        SOCKET_CHANNEL, SERVER_SOCKET_CHANNEL};
    /** Netty's native socket classes (also relocated copies); instrumented when the application loads them. */
    static final String NETTY_FILE_DESCRIPTOR = "io.netty.channel.unix.FileDescriptor";
    /**
     * Netty's native (epoll) transport calls the kernel through JNI, not through JDK channels;
     * its socket classes are instrumented unless {@code nettyEpoll=false} (Netty's NIO transport
     * goes through the JDK channel advice either way).
     */
    static final String NETTY_SOCKET = "io.netty.channel.unix.Socket";
    /** Netty's epoll system calls ({@code epollCtlAdd/Mod/Del}), where a spliced source's {@code EPOLLIN} is left out. */
    static final String NETTY_NATIVE = "io.netty.channel.epoll.Native";

    private static final String BYTE_BUDDY_SAFE = "net.bytebuddy.safe";

    private static ResettableClassFileTransformer transformer;

    private Instrumenter() {}

    /**
     * The agent's entry point ({@code AgentMain} calls it reflectively). With no engine (BPF
     * unavailable) nothing is instrumented.
     *
     * @throws IllegalStateException with a one-line reason if an engine is given but the sockets
     *     cannot be instrumented (the agent then reports itself off and closes the engine)
     */
    public static void install(Instrumentation inst, AgentConfig config, SpliceEngine engineOrNull, AgentLog log) {
        InstrumentLog sink = new InstrumentLog() {
            @Override public void info(String message) { log.info(message); }
            @Override public void warn(String message) { log.warn(message); }
            @Override public void debug(String message) { log.debug(message); }
            @Override public void warnOnce(String key, String message) { log.warnOnce(key, message); }
        };
        InstrumentSettings settings = new InstrumentSettings(Math.max(1, config.minBytes()), config.drainTimeoutMillis(),
                config::shouldSplice, sink, config.nettyEpoll());
        if (engineOrNull == null) return;
        String failure = install(inst, settings, Splicer.of(engineOrNull));
        if (failure != null) throw new IllegalStateException(failure);
    }

    /**
     * Installs the instrumentation; {@code splicer == null} (kernel splicing unavailable) installs
     * nothing, so sockets cost nothing.
     *
     * @return null if the instrumentation is active, else why not (not logged: the caller reports it)
     */
    public static synchronized String install(Instrumentation inst, InstrumentSettings settings, Splicer splicer) {
        InstrumentLog log = settings.log();
        if (splicer == null) {
            return "kernel splicing unavailable: socket streams are not instrumented";
        }
        if (transformer != null) {
            log.warn("socket instrumentation is already installed; ignoring the second install");
            return null;
        }
        // Byte Buddy's "safe" mode: no sun.misc.Unsafe, so JDK 24+ prints no "terminally deprecated
        // method in sun.misc.Unsafe" warning into the host's stderr. Read when its classes
        // initialise, i.e. during this install; restored afterwards.
        String safe = System.getProperty(BYTE_BUDDY_SAFE);
        if (safe == null) System.setProperty(BYTE_BUDDY_SAFE, "true");
        try {
            return doInstall(inst, settings, splicer, log);
        } finally {
            if (safe == null) System.clearProperty(BYTE_BUDDY_SAFE);
        }
    }

    private static String doInstall(Instrumentation inst, InstrumentSettings settings, Splicer splicer, InstrumentLog log) {
        try {
            ClassLoader agentLoader = Instrumenter.class.getClassLoader();
            Class<?> bridge = BootstrapInjector.ensureBridge(inst, agentLoader);
            Module mine = Instrumenter.class.getModule();
            inst.redefineModule(Object.class.getModule(), Set.of(bridge.getModule()), Map.of(),
                    Map.of("java.net", Set.of(mine), "java.io", Set.of(mine)), Set.of(), Map.of());
            if (SocketFds.unavailableBecause() != null) {
                return fail(log, "cannot reach socket file descriptors (" + SocketFds.unavailableBecause() + ")");
            }
            for (String type : TYPES) Class.forName(type, false, null); // loaded now: retransformed, errors seen here

            Set<String> transformed = ConcurrentHashMap.newKeySet();
            Map<String, Throwable> errors = new ConcurrentHashMap<>();
            ResettableClassFileTransformer installed = new AgentBuilder.Default()
                    .disableClassFormatChanges()
                    .with(AgentBuilder.RedefinitionStrategy.RETRANSFORMATION)
                    .with(AgentBuilder.InitializationStrategy.NoOp.INSTANCE)
                    .with(new RecordingListener(transformed, errors))
                    .ignore(not(namedOneOf(TYPES).or(settings.nettyEpoll()
                            ? nameEndsWith(NETTY_FILE_DESCRIPTOR).or(nameEndsWith(NETTY_SOCKET)).or(nameEndsWith(NETTY_NATIVE))
                            : ElementMatchers.<TypeDescription>none())))
                    .type(named(SOCKET_INPUT_STREAM))
                    .transform((b, t, cl, m, pd) -> b.visit(Advice.to(SocketReadAdvice.class)
                            .on(named("read").and(takesArguments(byte[].class, int.class, int.class))))
                            .visit(Advice.to(SocketAvailableAdvice.class).on(named("available").and(takesArguments(0)))))
                    .type(named(SOCKET_OUTPUT_STREAM))
                    .transform((b, t, cl, m, pd) -> b.visit(Advice.to(SocketWriteAdvice.class)
                            .on(named("write").and(takesArguments(byte[].class, int.class, int.class)))))
                    .type(named(SOCKET))
                    .transform((b, t, cl, m, pd) -> b.visit(Advice.to(SocketCloseAdvice.class)
                            .on(named("close").and(takesArguments(0)).and(not(isConstructor())))))
                    .type(named(SERVER_SOCKET))
                    .transform((b, t, cl, m, pd) -> b.visit(Advice.to(AcceptAdvice.class)
                            .on(named("implAccept").and(takesArguments(Socket.class)))))
                    .type(named(SOCKET_CHANNEL))
                    .transform((b, t, cl, m, pd) -> b
                            .visit(Advice.to(ChannelReadAdvice.class)
                                    .on(named("read").and(takesArguments(ByteBuffer.class))))
                            .visit(Advice.to(ChannelScatterReadAdvice.class)
                                    .on(named("read").and(takesArguments(ByteBuffer[].class, int.class, int.class))))
                            .visit(Advice.to(ChannelWriteAdvice.class)
                                    .on(named("write").and(takesArguments(ByteBuffer.class))))
                            .visit(Advice.to(ChannelGatherWriteAdvice.class)
                                    .on(named("write").and(takesArguments(ByteBuffer[].class, int.class, int.class))))
                            .visit(Advice.to(ChannelCloseAdvice.class)
                                    .on(named("implCloseSelectableChannel").and(takesArguments(0))))
                            .visit(Advice.to(ChannelInterestAdvice.class)
                                    .on(named("translateInterestOps").and(takesArguments(int.class)))))
                    .type(named(SERVER_SOCKET_CHANNEL))
                    .transform((b, t, cl, m, pd) -> b.visit(Advice.to(ChannelAcceptAdvice.class)
                            .on(named("accept").and(takesArguments(0)))))
                    .type(nameEndsWith(NETTY_FILE_DESCRIPTOR))
                    .transform((b, t, cl, m, pd) -> b
                            .visit(Advice.to(NettyReadAdvice.class).on(nettyMethod("read", ByteBuffer.class, int.class, int.class)))
                            .visit(Advice.to(NettyReadAddressAdvice.class).on(nettyMethod("readAddress", long.class, int.class, int.class)))
                            .visit(Advice.to(NettyWriteAdvice.class).on(nettyMethod("write", ByteBuffer.class, int.class, int.class)))
                            .visit(Advice.to(NettyWriteAddressAdvice.class).on(nettyMethod("writeAddress", long.class, int.class, int.class)))
                            .visit(Advice.to(NettyWritevAdvice.class)
                                    .on(nettyMethod("writev", ByteBuffer[].class, int.class, int.class, long.class)))
                            .visit(Advice.to(NettyWritevAddressesAdvice.class).on(nettyMethod("writevAddresses", long.class, int.class)))
                            .visit(Advice.to(NettyCloseAdvice.class).on(nettyMethod("close"))))
                    .type(nameEndsWith(NETTY_SOCKET))
                    .transform((b, t, cl, m, pd) -> b
                            .visit(Advice.to(NettyReadAdvice.class).on(nettyMethod("recv", ByteBuffer.class, int.class, int.class)))
                            .visit(Advice.to(NettyReadAddressAdvice.class).on(nettyMethod("recvAddress", long.class, int.class, int.class)))
                            .visit(Advice.to(NettyWriteAdvice.class).on(nettyMethod("send", ByteBuffer.class, int.class, int.class)))
                            .visit(Advice.to(NettyWriteAddressAdvice.class).on(nettyMethod("sendAddress", long.class, int.class, int.class)))
                            .visit(Advice.to(NettyAcceptAdvice.class).on(nettyMethod("accept", byte[].class))))
                    .type(nameEndsWith(NETTY_NATIVE))
                    .transform((b, t, cl, m, pd) -> b
                            .visit(Advice.to(NettyEpollCtlAdvice.class).on(nettyStatic("epollCtlAdd", int.class, int.class, int.class)
                                    .or(nettyStatic("epollCtlMod", int.class, int.class, int.class))))
                            .visit(Advice.to(NettyEpollCtlDelAdvice.class).on(nettyStatic("epollCtlDel", int.class, int.class))))
                    .installOn(inst);
            if (!errors.isEmpty() || !transformed.containsAll(Set.of(TYPES))) {
                installed.reset(inst, AgentBuilder.RedefinitionStrategy.RETRANSFORMATION);
                return fail(log, "transformed " + transformed + " of " + List.of(TYPES) + ", errors " + errors);
            }
            transformer = installed;
            BridgeWiring.wire(settings, splicer);
            log.info("socket streams instrumented: pure relays are spliced after " + settings.minBytes() + " bytes");
            log.info("NIO socket channels and Netty native sockets instrumented: pure relays are spliced after "
                    + settings.minBytes() + " bytes");
            return null;
        } catch (Throwable t) {
            return fail(log, t.toString());
        }
    }

    /** A public instance method of Netty's socket classes (the private static natives share the names). */
    private static ElementMatcher.Junction<MethodDescription> nettyMethod(String name, Class<?>... args) {
        return named(name).and(takesArguments(args)).and(isPublic()).and(not(isStatic()));
    }

    /** A public static method of Netty's {@code Native} (the private natives have other names: {@code epollCtlMod0}). */
    private static ElementMatcher.Junction<MethodDescription> nettyStatic(String name, Class<?>... args) {
        return named(name).and(takesArguments(args)).and(isPublic()).and(isStatic());
    }

    private static String fail(InstrumentLog log, String why) {
        return "socket instrumentation not installed: " + why;
    }

    /**
     * Socket pairs the agent spliced (one direction or both): {@code {total, active}}; zeros when
     * the instrumentation is not installed. {@code AgentMain} adds them to the engine's pair counts,
     * which only count pairs spliced with both directions at once (library {@code splice}).
     */
    public static long[] pairCounts() {
        SpliceHooks h = hooks();
        return h == null ? new long[2] : h.pairCounts();
    }

    /** The active hooks (tests and diagnostics), or {@code null}. */
    static SpliceHooks hooks() {
        return transformer == null ? null : BridgeWiring.current();
    }

    private static final class RecordingListener extends AgentBuilder.Listener.Adapter {
        private final Set<String> transformed;
        private final Map<String, Throwable> errors;

        RecordingListener(Set<String> transformed, Map<String, Throwable> errors) {
            this.transformed = transformed;
            this.errors = errors;
        }

        @Override
        public void onTransformation(TypeDescription type, ClassLoader loader, JavaModule module, boolean loaded,
                                     DynamicType dynamicType) {
            transformed.add(type.getName());
        }

        @Override
        public void onError(String typeName, ClassLoader loader, JavaModule module, boolean loaded, Throwable throwable) {
            errors.put(typeName, throwable);
        }
    }
}
