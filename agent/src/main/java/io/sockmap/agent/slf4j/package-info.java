/**
 * SLF4J calls made by agent code, routed to {@link io.sockmap.agent.AgentLog} inside the agent jar
 * (the binding is registered only there, never in the library jar).
 */
package io.sockmap.agent.slf4j;
