/**
 * Advice on the JDK's {@code sun.nio.ch.SocketChannelImpl} (reads, scattering reads, writes,
 * gathering writes, close, {@code translateInterestOps}) and {@code ServerSocketChannelImpl.accept()}: the same methods on JDK
 * 17, 21 and 25. Plain NIO relays (blocking channels or a {@code Selector}) and Netty's NIO
 * transport all end up here. Each advice only reports to {@link io.sockmap.bootstrap.ChannelBridge};
 * {@link io.sockmap.instrument.channel} decides.
 */
package io.sockmap.instrument.nio;
