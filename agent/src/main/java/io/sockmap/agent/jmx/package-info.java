/** The {@code io.sockmap:type=SpliceAgent} MBean: engine counters, mode and settings. */
package io.sockmap.agent.jmx;
