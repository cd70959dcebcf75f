package io.sockmap.examples;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.LongAdder;

/**
 * The server behind the example proxies. One thread per connection (virtual threads on JDK 21+,
 * 256 KiB-stack platform threads otherwise) and one {@code byte[]} of {@code --buffer} bytes per
 * connection, so 10,000 concurrent connections cost about 10,000 threads and 160 MiB of buffers
 * (raise {@code ulimit -n} above the number of connections; on JDK 17 the threads are kernel
 * tasks, so {@code ulimit -u} and {@code kernel.pid_max} must leave room for them and for a
 * thread-per-connection proxy on the same host). {@code source} mode uses a second thread per
 * connection to discard the client's bytes.
 *
 * <pre>
 * java -cp sockmap-examples.jar io.sockmap.examples.Backend --mode echo|sink|source|reqresp [options]
 * </pre>
 *
 * <ul>
 * <li>{@code echo}: writes back everything it reads; at EOF, once everything has been echoed,
 *     {@code shutdownOutput()} and close (half-close aware).</li>
 * <li>{@code sink}: reads and discards; at EOF writes 40 bytes, the 8-byte big-endian count of
 *     bytes received followed by the 32-byte SHA-256 of them (32 zero bytes with
 *     {@code --no-hash}), then closes.</li>
 * <li>{@code source}: sends {@code --bytes N} bytes of the deterministic stream seeded with
 *     {@code --seed} (see {@link DeterministicBytes}), then {@code shutdownOutput()}; meanwhile
 *     reads and discards whatever the client sends, and closes after the client's EOF.</li>
 * <li>{@code reqresp}: reads requests of exactly {@code --size} bytes and answers each with the
 *     same {@code --size} bytes (the request echoed); at EOF {@code shutdownOutput()} and close.</li>
 * </ul>
 *
 * Options: {@code --listen PORT} (0 = ephemeral, default 0), {@code --bind ADDR} (default
 * 127.0.0.1), {@code --mode} (default echo), {@code --bytes N} (source, default 1G),
 * {@code --seed S} (source, default 1), {@code --size N} (reqresp, default 1024),
 * {@code --read-rate BYTES_PER_SEC} (per-connection token bucket on every read, making the
 * backend a slow reader; default unlimited), {@code --buffer BYTES} (default 16K),
 * {@code --no-hash} (sink: skip SHA-256), {@code --verbose}. Prints {@code listening on <port>}
 * when ready.
 */
public final class Backend extends AbstractServer {

    /** What the backend does with each connection. */
    enum Mode { ECHO, SINK, SOURCE, REQRESP }

    static final Set<String> OPTIONS = Set.of("listen", "bind", "mode", "bytes", "seed", "size", "read-rate", "buffer");
    static final Set<String> FLAGS = Set.of("no-hash", "verbose");
    static final int SINK_REPLY_BYTES = 8 + 32;

    static final String USAGE =
            "usage: java -cp sockmap-examples.jar io.sockmap.examples.Backend [--mode echo|sink|source|reqresp] [options]\n"
            + "  --mode MODE           echo (default): write back what is read, half-close aware\n"
            + "                        sink: discard; at EOF reply 8-byte count + 32-byte SHA-256, close\n"
            + "                        source: send --bytes deterministic bytes then shutdownOutput; discard input\n"
            + "                        reqresp: answer each --size-byte request with the same --size bytes\n"
            + "  --listen PORT         port to listen on, 0 = ephemeral (default 0)\n"
            + "  --bind ADDR           address to listen on (default 127.0.0.1)\n"
            + "  --bytes N             source: bytes to send per connection, e.g. 1G (default 1G)\n"
            + "  --seed S              source: seed of the deterministic stream (default 1)\n"
            + "  --size N              reqresp: request and response size (default 1024)\n"
            + "  --read-rate BPS       read at most BPS bytes/s per connection (token bucket; default unlimited)\n"
            + "  --buffer BYTES        read buffer per connection (default 16K)\n"
            + "  --no-hash             sink: reply 32 zero bytes instead of the SHA-256 (saves CPU)\n"
            + "  --verbose             log connection errors\n"
            + "Prints 'listening on <port>' on stdout when ready. 10,000 connections need ulimit -n > 10,000.";

    /** Parsed command line. */
    static final class Config {
        InetAddress bind;
        int listen;
        Mode mode = Mode.ECHO;
        long bytes = 1L << 30;
        long seed = 1;
        int size = 1024;
        long readRate;
        int buffer = 16 * 1024;
        boolean hash = true;
        boolean verbose;

        static Config parse(Cli cli) throws Cli.UsageException {
            Config c = new Config();
            c.bind = cli.bindAddress();
            c.listen = cli.port("listen", 0);
            String mode = cli.string("mode", "echo");
            try {
                c.mode = Mode.valueOf(mode.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new Cli.UsageException("--mode must be echo, sink, source or reqresp: " + mode);
            }
            c.bytes = cli.size("bytes", c.bytes);
            c.seed = cli.longValue("seed", c.seed);
            long size = cli.size("size", c.size);
            if (size < 1 || size > (64 << 20)) {
                throw new Cli.UsageException("--size must be between 1 and 64M");
            }
            c.size = (int) size;
            c.readRate = cli.size("read-rate", 0);
            long buffer = cli.size("buffer", c.buffer);
            if (buffer < 1 || buffer > (64 << 20)) {
                throw new Cli.UsageException("--buffer must be between 1 and 64M");
            }
            c.buffer = (int) buffer;
            c.hash = !cli.has("no-hash");
            c.verbose = cli.has("verbose");
            return c;
        }
    }

    private final Config config;
    private final ThreadFactory threads = Threads.perConnection("backend-");
    private final LongAdder bytesRead = new LongAdder();
    private final LongAdder bytesWritten = new LongAdder();

    Backend(Config config) {
        super("Backend", config.bind, config.listen);
        this.config = config;
        setVerbose(config.verbose);
    }

    /**
     * Starts a backend in this JVM with the command-line options of {@link #main}; the caller
     * closes it.
     *
     * @throws IllegalArgumentException on a bad option
     */
    public static Backend launch(String... args) throws IOException {
        Config config;
        try {
            config = Config.parse(Cli.parse(args, OPTIONS, FLAGS));
        } catch (Cli.UsageException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        Backend backend = new Backend(config);
        backend.start();
        return backend;
    }

    public static void main(String[] args) {
        Cli.main(USAGE, args, OPTIONS, FLAGS, cli -> new Backend(Config.parse(cli)).serveForever());
    }

    /** Connections currently open. */
    public int activeConnections() {
        return openSockets();
    }

    /** Bytes read from all connections so far. */
    public long bytesRead() {
        return bytesRead.sum();
    }

    /** Bytes written to all connections so far. */
    public long bytesWritten() {
        return bytesWritten.sum();
    }

    @Override
    protected void accepted(Socket socket) {
        threads.newThread(() -> serve(socket)).start();
    }

    private void serve(Socket socket) {
        try {
            if (config.mode == Mode.REQRESP) {
                socket.setTcpNoDelay(true);
            }
            switch (config.mode) {
                case ECHO: echo(socket); break;
                case SINK: sink(socket); break;
                case SOURCE: source(socket); break;
                case REQRESP: requestResponse(socket); break;
                default: throw new AssertionError(config.mode);
            }
        } catch (IOException | InterruptedException e) {
            if (verbose() && !isClosed()) {
                log(config.mode.name().toLowerCase(Locale.ROOT) + " " + socket.getRemoteSocketAddress() + ": " + e);
            }
        } finally {
            forget(socket);
        }
    }

    private RateLimiter limiter() {
        return config.readRate > 0 ? new RateLimiter(config.readRate, config.buffer) : null;
    }

    private int read(InputStream in, byte[] b, int off, int len, RateLimiter limiter) throws IOException {
        int n;
        if (limiter == null) {
            n = in.read(b, off, len);
        } else {
            int allowed = limiter.acquire(len);
            n = in.read(b, off, allowed);
            limiter.refund(n < 0 ? allowed : allowed - n);
        }
        if (n > 0) {
            bytesRead.add(n);
        }
        return n;
    }

    private void echo(Socket socket) throws IOException {
        InputStream in = socket.getInputStream();
        OutputStream out = socket.getOutputStream();
        RateLimiter limiter = limiter();
        byte[] buffer = new byte[config.buffer];
        int n;
        while ((n = read(in, buffer, 0, buffer.length, limiter)) != -1) {
            out.write(buffer, 0, n);
            bytesWritten.add(n);
        }
        socket.shutdownOutput();
    }

    private void sink(Socket socket) throws IOException {
        InputStream in = socket.getInputStream();
        RateLimiter limiter = limiter();
        MessageDigest sha = config.hash ? DeterministicBytes.sha256() : null;
        byte[] buffer = new byte[config.buffer];
        long count = 0;
        int n;
        while ((n = read(in, buffer, 0, buffer.length, limiter)) != -1) {
            count += n;
            if (sha != null) {
                sha.update(buffer, 0, n);
            }
        }
        ByteBuffer reply = ByteBuffer.allocate(SINK_REPLY_BYTES).putLong(count);
        if (sha != null) {
            reply.put(sha.digest());
        }
        socket.getOutputStream().write(reply.array());
        bytesWritten.add(SINK_REPLY_BYTES);
    }

    private void source(Socket socket) throws IOException, InterruptedException {
        InputStream in = socket.getInputStream();
        Thread drain = threads.newThread(() -> {
            RateLimiter limiter = limiter();
            byte[] discard = new byte[Math.min(config.buffer, 8192)];
            try {
                while (read(in, discard, 0, discard.length, limiter) != -1) {
                    // discard
                }
            } catch (IOException e) {
                closeQuietly(socket);
            }
        });
        drain.start();
        OutputStream out = socket.getOutputStream();
        DeterministicBytes data = new DeterministicBytes(config.seed);
        byte[] buffer = new byte[config.buffer];
        for (long pos = 0; pos < config.bytes; ) {
            int n = (int) Math.min(buffer.length, config.bytes - pos);
            data.fill(buffer, 0, n, pos);
            out.write(buffer, 0, n);
            bytesWritten.add(n);
            pos += n;
        }
        socket.shutdownOutput();
        drain.join();
    }

    private void requestResponse(Socket socket) throws IOException {
        InputStream in = socket.getInputStream();
        OutputStream out = socket.getOutputStream();
        RateLimiter limiter = limiter();
        byte[] request = new byte[config.size];
        for (;;) {
            int got = 0;
            while (got < request.length) {
                int n = read(in, request, got, request.length - got, limiter);
                if (n < 0) {
                    socket.shutdownOutput();
                    return;
                }
                got += n;
            }
            out.write(request);
            bytesWritten.add(request.length);
        }
    }
}
