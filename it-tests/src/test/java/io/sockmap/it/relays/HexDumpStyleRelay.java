package io.sockmap.it.relays;

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
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;

/**
 * Netty's classic HexDumpProxy: auto-read off; the frontend reads one message, writes it to the
 * backend with {@code outbound.writeAndFlush(msg)} and asks for the next read
 * ({@code ctx.channel().read()}) only once that write completed. The backend direction runs with
 * auto-read instead, turned off while the client's channel is not writable and on again by the
 * frontend's {@code channelWritabilityChanged}. No half
 * closure: EOF closes the channel, and {@code channelInactive} closes the other one after a flush.
 * {@code --transport nio|epoll}; one event loop group, the backend on the frontend's loop.
 */
public final class HexDumpStyleRelay {
    private HexDumpStyleRelay() {}

    @SuppressWarnings("deprecation")
    public static void main(String[] args) throws Exception {
        RelayArgs a = new RelayArgs(args);
        boolean epoll = a.get("transport", "nio").equals("epoll");
        EventLoopGroup group = epoll ? new EpollEventLoopGroup(1) : new NioEventLoopGroup(1);
        Class<? extends Channel> clientType = epoll ? EpollSocketChannel.class : NioSocketChannel.class;
        Channel server = new ServerBootstrap().group(group)
                .channel(epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
                .childOption(ChannelOption.AUTO_READ, false)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new Frontend(a, clientType));
                    }
                })
                .bind("127.0.0.1", a.listen()).sync().channel();
        System.out.println("listening on " + ((java.net.InetSocketAddress) server.localAddress()).getPort());
        System.out.flush();
        server.closeFuture().sync();
    }

    static void closeOnFlush(Channel ch) {
        if (ch.isActive()) ch.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }

    static final class Frontend extends ChannelInboundHandlerAdapter {
        private final RelayArgs args;
        private final Class<? extends Channel> clientType;
        private Channel outbound;

        Frontend(RelayArgs args, Class<? extends Channel> clientType) {
            this.args = args;
            this.clientType = clientType;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            Channel inbound = ctx.channel();
            outbound = new Bootstrap().group(inbound.eventLoop()).channel(clientType)
                    .handler(new Backend(inbound))
                    .option(ChannelOption.AUTO_READ, false)
                    .connect(args.target())
                    .addListener((ChannelFutureListener) f -> {
                        if (f.isSuccess()) {
                            inbound.read();
                        } else {
                            inbound.close();
                        }
                    }).channel();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (outbound.isActive()) {
                outbound.writeAndFlush(msg).addListener((ChannelFutureListener) f -> {
                    if (f.isSuccess()) {
                        ctx.channel().read();
                    } else {
                        f.channel().close();
                    }
                });
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            // backend -> client runs with auto-read, paused while the client's channel is not writable
            if (outbound != null) outbound.config().setAutoRead(ctx.channel().isWritable());
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (outbound != null) closeOnFlush(outbound);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            closeOnFlush(ctx.channel());
        }
    }

    static final class Backend extends ChannelInboundHandlerAdapter {
        private final Channel inbound;

        Backend(Channel inbound) {
            this.inbound = inbound;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.channel().config().setAutoRead(true);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            inbound.writeAndFlush(msg).addListener((ChannelFutureListener) f -> {
                if (!f.isSuccess()) f.channel().close();
            });
            if (!inbound.isWritable()) ctx.channel().config().setAutoRead(false);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            closeOnFlush(inbound);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            closeOnFlush(ctx.channel());
        }
    }
}
