/**
 * Advice on Netty's native transport (epoll), matched by class name so the agent has no
 * dependency on Netty and also finds a relocated copy ({@code *.io.netty.channel.unix.*}): the
 * public instance methods of {@code io.netty.channel.unix.FileDescriptor} ({@code read},
 * {@code readAddress}, {@code write}, {@code writeAddress}, {@code writev}, {@code
 * writevAddresses}, {@code close}) and of {@code io.netty.channel.unix.Socket} ({@code recv},
 * {@code recvAddress}, {@code send}, {@code sendAddress}), and the public static {@code
 * epollCtlAdd/epollCtlMod/epollCtlDel} of {@code io.netty.channel.epoll.Native} (a spliced source
 * is registered without {@code EPOLLIN}), the same in Netty 4.1 and 4.2. A read
 * returns 0 for "nothing now" (EAGAIN) and -1 for EOF, as the real ones do. Netty's NIO transport
 * needs nothing here: it uses {@code SocketChannel} ({@link io.sockmap.instrument.nio}).
 */
package io.sockmap.instrument.netty;
