package io.sockmap.examples;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.ChannelInputShutdownReadComplete;
import io.netty.channel.socket.DuplexChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;

import java.net.InetSocketAddress;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;

/**
 * A Netty relay proxy, the textbook handler pair: the frontend's {@code channelRead} writes the
 * {@code ByteBuf} it got to the backend channel with {@code writeAndFlush(msg)}, and the backend's
 * handler does the same the other way. Auto-read follows writability: a direction stops reading
 * while the other channel is not writable (its outbound buffer is above the high-water mark).
 * Half-closure is allowed: an EOF becomes {@code shutdownOutput()} on the other channel, and a
 * connection is closed once both directions ended; an error or a close closes both.
 *
 * <p>{@code --transport nio|epoll} (default nio) picks Netty's NIO transport ({@code SocketChannel}
 * and a {@code Selector}) or its native epoll transport (edge-triggered, Linux); {@code --threads
 * N} sizes the event-loop group (default: Netty's, twice the cores). The same class runs on Netty
 * 4.1 and 4.2 (it uses the API both have). {@code --buffer} is accepted and ignored (Netty sizes
 * its read buffers itself).
 *
 * <pre>
 * java -cp sockmap-examples.jar io.sockmap.examples.NettyProxy --transport epoll --listen 9000 --target 127.0.0.1:9001
 * </pre>
 *
 * Prints {@code listening on <port>} when ready.
 */
public final class NettyProxy implements AutoCloseable {
    static final Set<String> OPTIONS;

    static {
        Set<String> o = new HashSet<>(AbstractProxy.OPTIONS);
        o.add("transport");
        o.add("threads");
        OPTIONS = Set.copyOf(o);
    }

    private final EventLoopGroup group;
    private final Channel server;

    @SuppressWarnings("deprecation") // the 4.1 API, kept in 4.2
    NettyProxy(AbstractProxy.Config config, String transport, int threads) throws InterruptedException {
        boolean epoll = transport.equals("epoll");
        if (epoll && !Epoll.isAvailable()) throw new IllegalStateException("epoll transport unavailable: " + Epoll.unavailabilityCause());
        group = epoll ? new EpollEventLoopGroup(threads) : new NioEventLoopGroup(threads);
        Class<? extends ServerChannel> serverType = epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
        Class<? extends Channel> clientType = epoll ? EpollSocketChannel.class : NioSocketChannel.class;
        InetSocketAddress target = config.target;
        server = new ServerBootstrap()
                .group(group)
                .channel(serverType)
                .option(ChannelOption.SO_BACKLOG, AbstractServer.BACKLOG)
                .childOption(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel client) {
                        client.pipeline().addLast(new Frontend(target, clientType, config.verbose));
                    }
                })
                .bind(config.bind, config.listen).sync().channel();
    }

    public static void main(String[] args) {
        String usage = AbstractProxy.usage("NettyProxy", "Relays each connection with a Netty handler pair "
                + "(writeAndFlush of the ByteBuf read).")
                + "\n  --transport nio|epoll  Netty transport (default nio)\n  --threads N          event-loop threads (default: Netty's)";
        Cli.main(usage, args, OPTIONS, AbstractProxy.FLAGS, cli -> {
            NettyProxy proxy = launch(cli);
            Runtime.getRuntime().addShutdownHook(new Thread(proxy::close, "NettyProxy-shutdown"));
            System.out.println("listening on " + proxy.port());
            System.out.flush();
            proxy.server.closeFuture().sync();
            return 0;
        });
    }

    static NettyProxy launch(Cli cli) throws Exception {
        String transport = cli.string("transport", "nio").toLowerCase(Locale.ROOT);
        if (!transport.equals("nio") && !transport.equals("epoll")) {
            throw new Cli.UsageException("--transport must be nio or epoll: " + transport);
        }
        return new NettyProxy(AbstractProxy.Config.parse(cli), transport, cli.integer("threads", 0));
    }

    public int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    @Override
    public void close() {
        server.close().syncUninterruptibly();
        group.shutdownGracefully(0, 2, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** Relays one direction into {@code peer}; shared logic of both handlers. */
    abstract static class Relay extends ChannelInboundHandlerAdapter {
        final boolean verbose;
        volatile Channel peer;

        Relay(boolean verbose) {
            this.verbose = verbose;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            Channel out = peer;
            out.writeAndFlush(msg).addListener((ChannelFutureListener) f -> {
                if (!f.isSuccess()) {
                    if (verbose) System.err.println("NettyProxy: relay write failed: " + f.cause() + " (cause: " + f.cause().getCause() + ")");
                    closeBoth(ctx.channel());
                }
            });
            if (!out.isWritable()) ctx.channel().config().setAutoRead(false);
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            // this channel's outbound buffer drained (or filled): the other side reads accordingly
            // (not on a channel whose input ended: the epoll transport may have deregistered its read interest)
            Channel p = peer;
            if (p != null && p.isActive() && !((DuplexChannel) p).isInputShutdown()) p.config().setAutoRead(ctx.channel().isWritable());
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownReadComplete) {
                Channel p = peer;
                DuplexChannel in = (DuplexChannel) ctx.channel();
                if (p instanceof DuplexChannel) {
                    // EOF and every byte read (ChannelInputShutdownEvent may come before the last reads
                    // with the epoll transport): once the writes before it are out, half-close the other side
                    p.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener((ChannelFutureListener) f -> {
                        DuplexChannel out = (DuplexChannel) p;
                        out.shutdownOutput().addListener((ChannelFutureListener) g -> {
                            if (out.isInputShutdown() && in.isOutputShutdown()) closeBoth(in);
                        });
                    });
                }
                return;
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            Channel p = peer;
            if (p != null && p.isActive()) p.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (verbose) System.err.println("NettyProxy: relay failed: " + cause);
            closeBoth(ctx.channel());
        }

        void closeBoth(Channel c) {
            c.close();
            Channel p = peer;
            if (p != null) p.close();
        }
    }

    /** The client's handler: connects the backend, then relays client -> backend. */
    static final class Frontend extends Relay {
        private final InetSocketAddress target;
        private final Class<? extends Channel> clientType;

        Frontend(InetSocketAddress target, Class<? extends Channel> clientType, boolean verbose) {
            super(verbose);
            this.target = target;
            this.clientType = clientType;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            Channel client = ctx.channel();
            Backend backend = new Backend(client, verbose);
            new Bootstrap()
                    .group(client.eventLoop())
                    .channel(clientType)
                    .option(ChannelOption.AUTO_READ, true)
                    .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                    .option(ChannelOption.TCP_NODELAY, true)
                    .handler(backend)
                    .connect(target)
                    .addListener((ChannelFutureListener) f -> {
                        if (f.isSuccess()) {
                            peer = f.channel();
                            client.config().setAutoRead(true);
                        } else {
                            if (verbose) System.err.println("NettyProxy: cannot connect to " + target + ": " + f.cause());
                            client.close();
                        }
                    });
        }
    }

    /** The backend channel's handler: relays backend -> client. */
    static final class Backend extends Relay {
        Backend(Channel client, boolean verbose) {
            super(verbose);
            this.peer = client;
        }
    }
}
