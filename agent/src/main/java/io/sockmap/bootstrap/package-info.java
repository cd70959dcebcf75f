/**
 * The bridge between instrumented {@code java.base} code and the agent. These classes are
 * appended to the bootstrap class loader (so {@code java.net.Socket} can see them) and reference
 * JDK types only: {@link io.sockmap.bootstrap.SocketBridge} holds the agent's
 * {@link io.sockmap.bootstrap.SocketHooks} in a static volatile field and never throws.
 */
package io.sockmap.bootstrap;
