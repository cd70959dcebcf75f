/**
 * Relays written differently from the examples, to check that detection does not depend on one
 * coding style: a selector relay with one buffer per direction and {@code compact()}
 * ({@link io.sockmap.it.relays.CompactSelectorRelay}), a blocking {@code SocketChannel} thread
 * pair ({@link io.sockmap.it.relays.BlockingChannelRelay}) and Netty's classic HexDumpProxy
 * pattern ({@link io.sockmap.it.relays.HexDumpStyleRelay}). Each is a {@code main} run in a child
 * JVM by {@code ChannelProxyAgentIT}: {@code --listen PORT --target HOST:PORT [--transport nio|epoll]},
 * printing {@code listening on <port>}.
 */
package io.sockmap.it.relays;
