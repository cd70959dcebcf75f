/**
 * The packaging layer: everything between {@code -javaagent:sockmap-agent.jar} and the splice
 * engine and instrumentation.
 *
 * <p>Three class-loader layers (as in the OpenTelemetry agent):
 * <ol>
 *   <li>{@code io.sockmap.agent.boot} (top level of the jar, system class loader): the
 *       {@code Premain-Class}/{@code Agent-Class}. It refuses a second attach, injects the bridge
 *       classes, creates the isolated loader and calls {@link io.sockmap.agent.AgentMain}; it
 *       catches every {@code Throwable}.</li>
 *   <li>{@code io.sockmap.bootstrap} (top level of the jar, copied into a temporary jar that is
 *       appended to the bootstrap class path): the few bridge classes instrumented JDK code
 *       calls.</li>
 *   <li>Everything else (this package, engine, loader, instrumentation, Byte Buddy, ASM, SLF4J,
 *       JNA and its native library, the BPF object) is stored under {@code inst/} with
 *       {@code .class} renamed to {@code .classdata}, invisible to the application, and loaded by
 *       {@code io.sockmap.agent.boot.AgentClassLoader} (parent: the platform class loader).</li>
 * </ol>
 *
 * <p>{@link io.sockmap.agent.AgentConfig} parses settings (pure, with one warning line per bad
 * value), {@link io.sockmap.agent.AgentLog} is the agent's own stderr logger (it never touches the
 * application's logging), {@link io.sockmap.agent.jmx.SpliceAgent} is the
 * {@code io.sockmap:type=SpliceAgent} MBean, and {@link io.sockmap.agent.slf4j} routes SLF4J calls
 * made by agent code to {@code AgentLog} inside the agent jar.
 */
package io.sockmap.agent;
