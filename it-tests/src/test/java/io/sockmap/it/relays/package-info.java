/**
 * Relays that exist only for the kernel tests, written differently from the examples, as
 * stand-ins for proxies the agent has never seen: detection must not depend on one coding style.
 * Blocking styles ({@link io.sockmap.it.relays.TestRelay}: buffered streams, frames, a thread pool,
 * a handshake then a handoff) run under {@code OtherRelayStylesIT}; a selector relay with one
 * buffer per direction and {@code compact()} ({@link io.sockmap.it.relays.CompactSelectorRelay}), a
 * blocking {@code SocketChannel} thread pair ({@link io.sockmap.it.relays.BlockingChannelRelay})
 * and Netty's classic HexDumpProxy pattern ({@link io.sockmap.it.relays.HexDumpStyleRelay}) run
 * under {@code ChannelProxyAgentIT}. Each is a {@code main} run in a child JVM:
 * {@code --listen PORT --target HOST:PORT}, printing {@code listening on <port>}.
 */
package io.sockmap.it.relays;
