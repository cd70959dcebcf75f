/**
 * The only agent classes the application's class loader can see: the {@code Premain-Class} /
 * {@code Agent-Class} {@link io.sockmap.agent.boot.AgentBoot}, the isolated
 * {@link io.sockmap.agent.boot.AgentClassLoader} and the
 * {@link io.sockmap.agent.boot.BootstrapInjector}. JDK-only, no dependencies, never throws.
 */
package io.sockmap.agent.boot;
