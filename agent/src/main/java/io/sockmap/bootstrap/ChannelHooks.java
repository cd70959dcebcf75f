package io.sockmap.bootstrap;

import java.nio.ByteBuffer;

/**
 * What instrumented channel code reports: {@code sun.nio.ch.SocketChannelImpl} (plain NIO and
 * Netty's NIO transport) and Netty's {@code io.netty.channel.unix.FileDescriptor}/{@code Socket}
 * (the epoll transport). A "channel" is the {@code SocketChannel} or the Netty file descriptor
 * object. Implemented by the agent and published through {@link ChannelBridge#hooks};
 * implementations must not throw.
 */
public interface ChannelHooks {
    /**
     * A read of {@code channel} is about to run.
     *
     * @return {@code null} to let the real read run; an {@link Integer} to return instead (0: no
     *     bytes now, -1: EOF); an {@link java.io.IOException} to throw instead
     */
    Object beforeRead(Object channel);

    /** {@code n} bytes were read into {@code buf} at absolute indexes {@code [off, off+n)}. */
    void afterRead(Object channel, ByteBuffer buf, int off, int n);

    /** {@code n} bytes were read into native memory at {@code address}. */
    void afterReadAddress(Object channel, long address, int n);

    /** {@code n} bytes were read into {@code bufs[offset..offset+length)}, each from its {@code before[i]} position. */
    void afterReadScatter(Object channel, ByteBuffer[] bufs, int offset, int length, int[] before, long n);

    /** {@code n} bytes of {@code buf} at absolute indexes {@code [off, off+n)} were written. */
    void afterWrite(Object channel, ByteBuffer buf, int off, int n);

    /** {@code n} bytes at native {@code address} were written. */
    void afterWriteAddress(Object channel, long address, int n);

    /** {@code n} bytes of {@code bufs[offset..offset+length)} were written, each from its {@code before[i]} position. */
    void afterWriteGather(Object channel, ByteBuffer[] bufs, int offset, int length, int[] before, long n);

    /** {@code n} bytes described by the native {@code struct iovec[count]} at {@code iov} were written. */
    void afterWriteIovec(Object channel, long iov, int count, long n);

    /**
     * The poll events a selector is about to register for {@code channel} ({@code events}, from
     * its interest set): what to register instead.
     */
    int pollEvents(Object channel, int events);

    /**
     * Netty's epoll transport is about to register {@code fd} in epoll {@code efd} with
     * {@code flags} ({@code nativeType}: its {@code Native} class): what to register instead.
     * Followed by {@link #epollCtlDone} on the same thread once the real call returned.
     */
    int epollCtl(Class<?> nativeType, int efd, int fd, int flags);

    /** The registration call for {@code fd} returned (or threw). */
    void epollCtlDone(int fd);

    /** Netty removed {@code fd} from epoll {@code efd}. */
    void epollCtlDel(int efd, int fd);

    /** The channel is about to be closed. */
    void beforeClose(Object channel);

    /** {@code channel} was returned by a server channel's {@code accept()}. */
    void accepted(Object channel);

    /** A native server socket accepted a connection as file descriptor {@code fd} (Netty's epoll transport). */
    void acceptedFd(int fd);
}
