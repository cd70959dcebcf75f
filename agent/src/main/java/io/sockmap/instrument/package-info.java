/**
 * The {@code -javaagent:} side of blocking-socket relays: Byte Buddy advice on the JDK's socket
 * streams ({@link io.sockmap.instrument.SocketReadAdvice}, {@link
 * io.sockmap.instrument.SocketWriteAdvice}, {@link io.sockmap.instrument.SocketCloseAdvice},
 * {@link io.sockmap.instrument.AcceptAdvice}) reports reads and writes through the bootstrap
 * bridge to {@code SpliceHooks}, which feeds {@link io.sockmap.detect.RelayDetector}, hands an
 * eligible direction to the engine from its relay thread and parks that thread's reads of the
 * spliced source in the agent. {@link io.sockmap.instrument.Instrumenter#install} is the entry
 * point; {@link io.sockmap.instrument.Splicer} lets tests replace the engine.
 */
package io.sockmap.instrument;
