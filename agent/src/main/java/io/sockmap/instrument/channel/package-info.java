/**
 * The agent's side of {@link io.sockmap.bootstrap.ChannelBridge}: NIO {@code SocketChannel}s and
 * Netty native sockets. Feeds reads and writes to {@link io.sockmap.detect.ChannelRelayDetector},
 * hands an eligible direction to the engine at a read of its source, and answers reads of a
 * spliced source: "no bytes now" (0) for non-blocking channels while the kernel relays, -1 only
 * once the engine has drained the direction after EOF, "Connection reset" when it aborted; a
 * blocking channel's read parks until then. Never blocks an event loop for more than a few
 * milliseconds: a close of a non-blocking channel waits at most {@link
 * io.sockmap.instrument.channel.ChannelSpliceHooks#NON_BLOCKING_CLOSE_WAIT_MILLIS} for the
 * kernel's bytes in flight.
 */
package io.sockmap.instrument.channel;
