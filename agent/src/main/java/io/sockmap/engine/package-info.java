/**
 * Pairs of TCP sockets spliced in the kernel: the handover (drain to EAGAIN, insert paused,
 * kick with SO_RCVLOWAT, arm once userspace has caught up), one epoll watcher for every pair
 * (EOF, reset, passed bytes, the in-flight cap), the no-loss EOF rule (FIN only after the
 * kernel's backlog for that direction is drained) and the stats.
 *
 * <p>Each direction is spliced on its own: the source socket goes into {@code sm_sources}
 * (verdict attached), the target into {@code sm_targets} (no program, so its receive path is
 * untouched). {@link io.sockmap.engine.SpliceEngine#splice} splices both directions of a pair and
 * owns the sockets from then on; {@link io.sockmap.engine.SpliceEngine#spliceDirection} is the
 * agent's building block, where the application keeps its sockets and is told when EOF may be
 * shown to it.
 */
package io.sockmap.engine;
