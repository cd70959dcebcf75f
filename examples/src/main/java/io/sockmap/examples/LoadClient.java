package io.sockmap.examples;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * Drives traffic through a proxy to a {@link Backend} and checks every byte.
 *
 * <pre>
 * java -cp sockmap-examples.jar io.sockmap.examples.LoadClient --target HOST:PORT [--mode bulk|rr] [options]
 * </pre>
 *
 * <p><b>{@code --mode bulk}</b> (default): {@code --streams N} connections (default 1) each send
 * {@code --bytes B} bytes (default 64M) of a deterministic stream (seed {@code --seed} + stream
 * index), or as much as fits in {@code --duration S} seconds if given (whichever ends first), then
 * half-close. {@code --backend} says what the target ends in:
 * <ul>
 * <li>{@code sink} (default): the sink's reply must carry a byte count equal to the bytes sent
 *     and the SHA-256 of what was sent;</li>
 * <li>{@code echo}: the bytes coming back must have the length and SHA-256 of what was sent;</li>
 * <li>{@code source}: the client sends nothing (half-closes at once) and compares every received
 *     byte with the backend's stream ({@code --seed}; {@code --bytes} must equal the backend's).</li>
 * </ul>
 * Throughput is the bytes received by the far side (sink: the count the sink reports; echo and
 * source: the bytes the client received) divided by the time from the start to the last stream's
 * completion, in Gbit/s (10^9 bit/s). {@code --no-verify} skips hashing (counts are still
 * checked), for when the hash, not the proxy, would be the bottleneck. {@code --expect-uppercase}
 * (echo and sink) verifies against the data with its ASCII letters upper-cased, i.e. what
 * {@link TransformingProxy} must deliver.
 *
 * <p><b>{@code --mode rr}</b>: {@code --connections C} (default 1) each send a request of
 * {@code --size} bytes (default 1024) and wait for the response ({@code Backend --mode reqresp}
 * echoes the request, which is verified byte for byte), back to back, for {@code --duration S}
 * seconds (default 10) after {@code --warmup S} (default 0). Reports requests/s (requests
 * completed inside the measured window divided by its length) and p50/p99/p99.9/max latency
 * (HdrHistogram, microseconds, every request started inside the window). Connections are opened
 * 16 at a time, each exchanging its first request before the next is opened, so the server's
 * accept queue never overflows (its dropped handshakes would wait for retransmissions, up to
 * minutes); {@code answered_all_after_s} is how long opening them took, and the warm-up and
 * window follow. At the end every connection half-closes and waits for the server's EOF.
 *
 * <p>Other options: {@code --json} (print only one JSON line on stdout), {@code --buffer BYTES}
 * (largest single write/read, default 64K), {@code --idle-timeout S} (fail a connection that
 * makes no progress for S seconds; default 30, 0 = never; use 0 against a very slow
 * {@code --read-rate} backend), {@code --connect-timeout S} (default 10), {@code --threads N}
 * (event-loop threads, default: number of CPUs), {@code --verbose}.
 *
 * <p>Output, human form, one line on stdout:
 * <pre>
 * bulk sink: 4 streams, 4294967296 bytes in 2.913 s = 11.79 Gbit/s, SHA-256 verified, OK
 * rr: 64 connections x 1024 B, 10.00 s, 512345 requests = 51234.5 req/s, latency us p50 101.4 p99 352.1 p99.9 801.3 max 2105.3, OK
 * </pre>
 * JSON form ({@code --json}), one line on stdout:
 * <pre>
 * {"mode":"bulk","backend":"sink","streams":4,"bytes_sent":4294967296,"bytes_received":4294967296,"seconds":2.913,"gbps":11.793,"verified":true,"mismatches":0,"errors":0,"ok":true}
 * {"mode":"rr","connections":64,"size":1024,"seconds":10.000,"requests":512345,"rps":51234.5,"p50_us":101.4,"p99_us":352.1,"p999_us":801.3,"max_us":2105.3,"mean_us":120.2,"answered_all_after_s":0.004,"mismatches":0,"errors":0,"ok":true}
 * </pre>
 * Problems (the first 10, all with {@code --verbose}) go to stderr. Exit status: 0 OK, 1 content
 * mismatch, 2 bad command line or file-descriptor limit too low, 3 connection errors only.
 *
 * <p>The client is non-blocking: a few selector threads drive all connections, so 10,000
 * connections cost 10,000 file descriptors and no threads. Each connection also costs two file
 * descriptors in a proxy and one in the backend: for 10,000 connections run {@code ulimit -n 25000}
 * (or more) in the shell that starts each process. The client checks its own limit before
 * connecting and exits with status 2 if it is too low. Connections are opened (16 at a time)
 * before the clock starts.
 */
public final class LoadClient {

    static final Set<String> OPTIONS = Set.of("target", "mode", "backend", "streams", "bytes", "duration",
            "connections", "size", "seed", "warmup", "buffer", "idle-timeout", "connect-timeout", "threads");
    static final Set<String> FLAGS = Set.of("json", "no-verify", "expect-uppercase", "verbose");

    static final String USAGE =
            "usage: java -cp sockmap-examples.jar io.sockmap.examples.LoadClient --target HOST:PORT [--mode bulk|rr] [options]\n"
            + "  --mode bulk (default)   --streams N (1) --bytes B (64M per stream) [--duration S] --backend sink|echo|source (sink)\n"
            + "  --mode rr               --connections C (1) --size B (1024) --duration S (10) --warmup S (0);\n"
            + "                          the target must end in a Backend --mode reqresp with the same --size\n"
            + "  --seed S                seed of the deterministic data (default 1; bulk stream i uses S+i, source uses S)\n"
            + "  --no-verify             skip SHA-256 / byte comparison (counts are still checked)\n"
            + "  --expect-uppercase      echo/sink: expect the data with ASCII letters upper-cased (TransformingProxy)\n"
            + "  --json                  print one JSON result line on stdout\n"
            + "  --buffer BYTES          largest single read/write (default 64K)\n"
            + "  --idle-timeout S        fail a connection with no progress for S seconds (default 30, 0 = never)\n"
            + "  --connect-timeout S     (default 10)\n"
            + "  --threads N             event-loop threads (default: number of CPUs)\n"
            + "  --verbose               report every problem, not only the first 10\n"
            + "Exit status: 0 OK, 1 content mismatch, 2 bad command line / ulimit -n too low, 3 connection errors.\n"
            + "Each connection needs one file descriptor here (and two in a proxy): raise `ulimit -n` for 10,000.";

    private static final int MAX_LOGGED_PROBLEMS = 10;
    private static final int CONNECT_PARALLELISM = 16;
    /** Chunks one connection may move per readiness event before the loop serves the others. */
    private static final int CHUNKS_PER_EVENT = 16;

    private LoadClient() {
    }

    /** The outcome of a run. */
    public interface Result {
        /** No mismatch and no error. */
        default boolean ok() {
            return mismatches() == 0 && errors() == 0;
        }

        int mismatches();

        int errors();

        /** The first problems seen (at most 10 unless --verbose). */
        List<String> problems();

        /** One machine-readable line. */
        String json();

        /** One human-readable line. */
        String summary();

        /** The process exit status for this result. */
        default int exitCode() {
            return mismatches() > 0 ? 1 : errors() > 0 ? 3 : 0;
        }
    }

    /** Result of {@code --mode bulk}. */
    public record BulkResult(String backend, int streams, long bytesSent, long bytesReceived, double seconds,
                             boolean verified, int mismatches, int errors, List<String> problems) implements Result {
        public double gbps() {
            return seconds > 0 ? bytesReceived * 8 / seconds / 1e9 : 0;
        }

        @Override
        public String json() {
            return String.format(Locale.ROOT,
                    "{\"mode\":\"bulk\",\"backend\":\"%s\",\"streams\":%d,\"bytes_sent\":%d,\"bytes_received\":%d,"
                            + "\"seconds\":%.3f,\"gbps\":%.3f,\"verified\":%b,\"mismatches\":%d,\"errors\":%d,\"ok\":%b}",
                    backend, streams, bytesSent, bytesReceived, seconds, gbps(), verified, mismatches, errors, ok());
        }

        @Override
        public String summary() {
            return String.format(Locale.ROOT, "bulk %s: %d stream%s, %d bytes in %.3f s = %.2f Gbit/s, %s, %s",
                    backend, streams, streams == 1 ? "" : "s", bytesReceived, seconds, gbps(),
                    verified ? "SHA-256 verified" : "counts verified",
                    ok() ? "OK" : "FAILED (" + mismatches + " mismatches, " + errors + " errors)");
        }
    }

    /**
     * Result of {@code --mode rr}; latencies in microseconds. {@code windowStartNanos} and
     * {@code windowEndNanos} are the {@link System#nanoTime()} bounds of the measured window (after
     * the connections were opened and the warm-up ended), for a caller in the same JVM that samples
     * CPU time and wants the part that belongs to the window.
     */
    public record RrResult(int connections, int size, double seconds, long requests, double p50us, double p99us,
                           double p999us, double maxUs, double meanUs, int mismatches, int errors,
                           List<String> problems, long windowStartNanos, long windowEndNanos,
                           double answeredAllAfterSeconds) implements Result {
        public double requestsPerSecond() {
            return seconds > 0 ? requests / seconds : 0;
        }

        @Override
        public String json() {
            return String.format(Locale.ROOT,
                    "{\"mode\":\"rr\",\"connections\":%d,\"size\":%d,\"seconds\":%.3f,\"requests\":%d,\"rps\":%.1f,"
                            + "\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f,\"mean_us\":%.1f,"
                            + "\"answered_all_after_s\":%.3f,\"mismatches\":%d,\"errors\":%d,\"ok\":%b}",
                    connections, size, seconds, requests, requestsPerSecond(), p50us, p99us, p999us, maxUs, meanUs,
                    answeredAllAfterSeconds, mismatches, errors, ok());
        }

        @Override
        public String summary() {
            return String.format(Locale.ROOT,
                    "rr: %d connection%s x %d B, %.2f s, %d requests = %.1f req/s, latency us p50 %.1f p99 %.1f"
                            + " p99.9 %.1f max %.1f, %s",
                    connections, connections == 1 ? "" : "s", size, seconds, requests, requestsPerSecond(),
                    p50us, p99us, p999us, maxUs,
                    ok() ? "OK" : "FAILED (" + mismatches + " mismatches, " + errors + " errors)");
        }
    }

    /** Parsed command line. */
    static final class Options {
        InetSocketAddress target;
        boolean rr;
        String backend = "sink";
        int streams = 1;
        long bytes = 64L << 20;
        double duration;
        int connections = 1;
        int size = 1024;
        long seed = 1;
        double warmup;
        int buffer = 64 << 10;
        long idleTimeoutNanos = TimeUnit.SECONDS.toNanos(30);
        int connectTimeoutMillis = 10_000;
        int threads = Runtime.getRuntime().availableProcessors();
        boolean json;
        boolean verify = true;
        boolean expectUppercase;
        boolean verbose;

        static Options parse(Cli cli) throws Cli.UsageException {
            Options o = new Options();
            o.target = cli.hostPort("target");
            String mode = cli.string("mode", "bulk");
            if (!mode.equals("bulk") && !mode.equals("rr")) {
                throw new Cli.UsageException("--mode must be bulk or rr: " + mode);
            }
            o.rr = mode.equals("rr");
            o.backend = cli.string("backend", o.backend);
            if (!Set.of("sink", "echo", "source").contains(o.backend)) {
                throw new Cli.UsageException("--backend must be sink, echo or source: " + o.backend);
            }
            o.streams = cli.integer("streams", o.streams);
            o.connections = cli.integer("connections", o.connections);
            if (o.streams < 1 || o.connections < 1) {
                throw new Cli.UsageException("--streams and --connections must be at least 1");
            }
            boolean boundedByTime = cli.has("duration") && !o.rr;
            o.bytes = cli.size("bytes", boundedByTime ? Long.MAX_VALUE : o.bytes);
            o.duration = cli.seconds("duration", o.rr ? 10 : 0);
            if (o.rr && o.duration <= 0) {
                throw new Cli.UsageException("--duration must be positive in rr mode");
            }
            long size = cli.size("size", o.size);
            if (size < 1 || size > (64 << 20)) {
                throw new Cli.UsageException("--size must be between 1 and 64M");
            }
            o.size = (int) size;
            o.seed = cli.longValue("seed", o.seed);
            o.warmup = cli.seconds("warmup", 0);
            long buffer = cli.size("buffer", o.buffer);
            if (buffer < 1 || buffer > (64 << 20)) {
                throw new Cli.UsageException("--buffer must be between 1 and 64M");
            }
            o.buffer = (int) buffer;
            o.idleTimeoutNanos = (long) (cli.seconds("idle-timeout", 30) * 1e9);
            o.connectTimeoutMillis = (int) Math.min(Integer.MAX_VALUE, Math.round(cli.seconds("connect-timeout", 10) * 1000));
            o.threads = cli.integer("threads", o.threads);
            if (o.threads < 1) {
                throw new Cli.UsageException("--threads must be at least 1");
            }
            o.json = cli.has("json");
            o.verify = !cli.has("no-verify");
            o.expectUppercase = cli.has("expect-uppercase");
            o.verbose = cli.has("verbose");
            return o;
        }
    }

    public static void main(String[] args) {
        Cli.main(USAGE, args, OPTIONS, FLAGS, cli -> {
            Options o = Options.parse(cli);
            Result r;
            try {
                r = run(o);
            } catch (IllegalStateException e) {
                System.err.println("LoadClient: " + e.getMessage());
                return 2;
            }
            for (String p : r.problems()) {
                System.err.println("LoadClient: " + p);
            }
            System.out.println(o.json ? r.json() : r.summary());
            return r.exitCode();
        });
    }

    /**
     * Runs with the command-line options of {@link #main}, in this JVM, and returns the result
     * instead of printing it.
     *
     * @throws IllegalArgumentException on a bad option
     * @throws IllegalStateException if the file-descriptor limit is too low
     */
    public static Result run(String... args) throws InterruptedException, IOException {
        Options o;
        try {
            o = Options.parse(Cli.parse(args, OPTIONS, FLAGS));
        } catch (Cli.UsageException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        return run(o);
    }

    static Result run(Options o) throws InterruptedException, IOException {
        int count = o.rr ? o.connections : o.streams;
        long limit = openFileLimit();
        long needed = count + 128L;
        if (needed > limit) {
            throw new IllegalStateException(count + " connections need about " + needed
                    + " file descriptors but the limit is " + limit + ": raise it with `ulimit -n " + needed
                    + "` (a proxy needs twice as many)");
        }
        Run run = new Run(o);
        try {
            return o.rr ? run.rr() : run.bulk();
        } finally {
            run.stop();
        }
    }

    // ------------------------------------------------------------------------------------------

    /** Problems seen by the connections: counters plus the first few messages. */
    private static final class Problems {
        final AtomicInteger mismatches = new AtomicInteger();
        final AtomicInteger errors = new AtomicInteger();
        private final List<String> messages = new ArrayList<>();
        private final int keep;

        Problems(boolean verbose) {
            this.keep = verbose ? Integer.MAX_VALUE : MAX_LOGGED_PROBLEMS;
        }

        void mismatch(String message) {
            mismatches.incrementAndGet();
            add("MISMATCH " + message);
        }

        void error(String message) {
            errors.incrementAndGet();
            add(message);
        }

        private synchronized void add(String message) {
            if (messages.size() < keep) {
                messages.add(message);
            }
        }

        synchronized List<String> list() {
            return List.copyOf(messages);
        }
    }

    /** One run: the options, the event loops, the connections and what they saw. */
    private static final class Run {
        final Options o;
        final Problems problems;
        final List<Loop> loops = new ArrayList<>();
        final List<Conn> conns = new ArrayList<>();
        CountDownLatch finished;
        /** Set before the loops are told to start; read by the loop threads afterwards. */
        volatile long deadline;
        volatile long measureFrom;
        final Recorder latencies = new Recorder(3);

        Run(Options o) {
            this.o = o;
            this.problems = new Problems(o.verbose);
        }

        BulkResult bulk() throws InterruptedException, IOException {
            SocketChannel[] channels = connectAll(o.streams, false, false);
            for (int i = 0; i < channels.length; i++) {
                if (channels[i] != null) {
                    conns.add(new BulkConn(this, i, channels[i]));
                }
            }
            long start = startLoops(o.duration > 0 ? o.duration : 0, 0);
            finished.await();
            double seconds = (System.nanoTime() - start) / 1e9;
            long sent = 0;
            long received = 0;
            for (Conn c : conns) {
                BulkConn b = (BulkConn) c;
                sent += b.sent;
                received += b.farSideReceived;
            }
            return new BulkResult(o.backend, o.streams, sent, received, seconds, o.verify,
                    problems.mismatches.get(), problems.errors.get(), problems.list());
        }

        RrResult rr() throws InterruptedException, IOException {
            long connecting = System.nanoTime();
            SocketChannel[] channels = connectAll(o.connections, true, true);
            double answeredAll = (System.nanoTime() - connecting) / 1e9;
            for (int i = 0; i < channels.length; i++) {
                if (channels[i] != null) {
                    conns.add(new RrConn(this, i, channels[i]));
                }
            }
            startLoops(o.duration, o.warmup);
            finished.await();
            long requests = 0;
            for (Conn c : conns) {
                requests += ((RrConn) c).counted;
            }
            if (requests == 0 && problems.errors.get() == 0 && problems.mismatches.get() == 0) {
                problems.error("no request completed inside the measured window");
            }
            Histogram h = latencies.getIntervalHistogram();
            boolean any = h.getTotalCount() > 0;
            double us = 1e3;
            return new RrResult(o.connections, o.size, o.duration, requests,
                    any ? h.getValueAtPercentile(50) / us : 0, any ? h.getValueAtPercentile(99) / us : 0,
                    any ? h.getValueAtPercentile(99.9) / us : 0, any ? h.getMaxValue() / us : 0,
                    any ? h.getMean() / us : 0, problems.mismatches.get(), problems.errors.get(), problems.list(),
                    measureFrom, deadline, answeredAll);
        }

        /** Hands the connections to the loops, then starts the clock; returns the start time. */
        private long startLoops(double seconds, double warmup) throws IOException {
            finished = new CountDownLatch(conns.size());
            int n = Math.max(1, Math.min(o.threads, conns.size()));
            for (int i = 0; i < n; i++) {
                Loop loop = new Loop(this, i);
                loops.add(loop);
            }
            for (int i = 0; i < conns.size(); i++) {
                loops.get(i % n).assigned.add(conns.get(i));
            }
            long start = System.nanoTime();
            measureFrom = start + (long) (warmup * 1e9);
            deadline = seconds > 0 ? measureFrom + (long) (seconds * 1e9) : 0;
            for (Loop loop : loops) {
                loop.start();
            }
            return start;
        }

        void stop() {
            for (Loop loop : loops) {
                loop.shutdown();
            }
            for (Loop loop : loops) {
                try {
                    loop.join(5000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }

        /**
         * Opens {@code n} connections, {@link #CONNECT_PARALLELISM} at a time. With {@code prime}
         * (request/response) each one also exchanges its first request before the next is opened,
         * so no more connections wait for the server than it is accepting: thousands of connects
         * at once overflow its accept queue, the kernel drops those handshakes' last ACK, and the
         * client's {@code connect()} returns all the same, leaving the connection to wait for a
         * retransmission that backs off to a minute and more.
         */
        private SocketChannel[] connectAll(int n, boolean noDelay, boolean prime) throws InterruptedException {
            SocketChannel[] channels = new SocketChannel[n];
            AtomicInteger next = new AtomicInteger();
            int workers = Math.min(n, CONNECT_PARALLELISM);
            ExecutorService pool = Executors.newFixedThreadPool(workers, Threads.platform("connect-", 0));
            for (int w = 0; w < workers; w++) {
                pool.execute(() -> {
                    for (int i; (i = next.getAndIncrement()) < n; ) {
                        SocketChannel ch = null;
                        try {
                            ch = SocketChannel.open();
                            ch.setOption(StandardSocketOptions.TCP_NODELAY, noDelay);
                            ch.socket().connect(o.target, o.connectTimeoutMillis);
                            if (prime && !primeRequest(ch, i)) {
                                AbstractServer.closeQuietly(ch);
                                continue;
                            }
                            ch.configureBlocking(false);
                            channels[i] = ch;
                        } catch (IOException e) {
                            AbstractServer.closeQuietly(ch);
                            problems.error("connect #" + i + " to " + o.target + ": " + e);
                        }
                    }
                });
            }
            pool.shutdown();
            if (!pool.awaitTermination(1, TimeUnit.HOURS)) {
                throw new IllegalStateException("connecting did not finish");
            }
            return channels;
        }

        /**
         * Request 0 of connection {@code i}, sent and answered on the blocking channel (within the
         * idle timeout); false, with the problem recorded, if it was not.
         */
        private boolean primeRequest(SocketChannel ch, int i) throws IOException {
            byte[] request = RrConn.request(o, i, 0);
            byte[] response = new byte[request.length];
            ch.socket().setSoTimeout((int) Math.min(Integer.MAX_VALUE, Math.max(1, o.idleTimeoutNanos / 1_000_000)));
            ch.socket().getOutputStream().write(request);
            InputStream in = ch.socket().getInputStream();
            for (int got = 0; got < response.length; ) {
                int r;
                try {
                    r = in.read(response, got, response.length - got);
                } catch (SocketTimeoutException e) {
                    problems.error("connection " + i + ": no answer to its first request for "
                            + o.idleTimeoutNanos / 1_000_000_000 + " s");
                    return false;
                }
                if (r < 0) {
                    problems.error("connection " + i + ": closed by the peer before its first answer");
                    return false;
                }
                got += r;
            }
            if (o.verify && !Arrays.equals(request, response)) {
                problems.mismatch("connection " + i + ": response 0 differs from its request");
                return false;
            }
            return true;
        }
    }

    /** A selector thread driving its share of the connections. */
    private static final class Loop extends Thread {
        final Run run;
        final List<Conn> assigned = new ArrayList<>();
        final Selector selector;
        final Queue<Runnable> tasks = new ConcurrentLinkedQueue<>();
        /** Read buffer and generation scratch space shared by this loop's connections. */
        final byte[] in;
        final ByteBuffer inBuffer;
        final byte[] out;
        final ByteBuffer outBuffer;
        final byte[] expected;
        private volatile boolean stopping;

        Loop(Run run, int index) throws IOException {
            super("loadclient-loop-" + index);
            setDaemon(true);
            this.run = run;
            this.selector = Selector.open();
            int size = run.o.buffer;
            this.in = new byte[size];
            this.inBuffer = ByteBuffer.wrap(in);
            this.out = new byte[size];
            this.outBuffer = ByteBuffer.wrap(out);
            this.expected = new byte[size];
        }

        void shutdown() {
            stopping = true;
            selector.wakeup();
        }

        @Override
        public void run() {
            try {
                for (Conn c : assigned) {
                    try {
                        c.key = c.ch.register(selector, 0, c);
                        c.lastProgress = System.nanoTime();
                        c.begin(this);
                    } catch (IOException | RuntimeException e) {
                        c.error("starting: " + e);
                    }
                }
                long nextIdleCheck = System.nanoTime();
                while (!stopping && run.finished.getCount() > 0) {
                    selector.select(100);
                    for (SelectionKey key : selector.selectedKeys()) {
                        Conn c = (Conn) key.attachment();
                        if (c.done || !key.isValid()) {
                            continue;
                        }
                        try {
                            c.ready(this, key.readyOps());
                        } catch (IOException | RuntimeException e) {
                            c.error(e.toString());
                        }
                    }
                    selector.selectedKeys().clear();
                    long now = System.nanoTime();
                    if (now - nextIdleCheck >= 0) {
                        nextIdleCheck = now + 100_000_000L;
                        checkIdle(now);
                    }
                }
            } catch (IOException | RuntimeException e) {
                run.problems.error(getName() + " failed: " + e);
            } finally {
                for (Conn c : assigned) {
                    if (!c.done) {
                        c.error("abandoned: the client is stopping");
                    }
                }
                AbstractServer.closeQuietly(selector);
            }
        }

        private void checkIdle(long now) {
            long timeout = run.o.idleTimeoutNanos;
            for (Conn c : assigned) {
                if (!c.done && timeout > 0 && now - c.lastProgress > timeout) {
                    c.error("no progress for " + timeout / 1_000_000_000L + " s (" + c.state() + ")");
                }
            }
        }
    }

    /** A connection's state machine, run by exactly one loop thread. */
    private abstract static class Conn {
        final Run run;
        final int index;
        final SocketChannel ch;
        SelectionKey key;
        long lastProgress;
        boolean done;

        Conn(Run run, int index, SocketChannel ch) {
            this.run = run;
            this.index = index;
            this.ch = ch;
        }

        /** Called once on the loop thread when the clock starts. */
        abstract void begin(Loop loop) throws IOException;

        abstract void ready(Loop loop, int readyOps) throws IOException;

        abstract String state();

        void interest(int ops) {
            key.interestOps(ops);
        }

        /** Ends the connection: closes it and counts it as finished (once). */
        void finish() {
            if (!done) {
                done = true;
                if (key != null) {
                    key.cancel();
                }
                AbstractServer.closeQuietly(ch);
                run.finished.countDown();
            }
        }

        void error(String message) {
            if (!done) {
                run.problems.error(name() + ": " + message);
                finish();
            }
        }

        void mismatch(String message) {
            if (!done) {
                run.problems.mismatch(name() + ": " + message);
                finish();
            }
        }

        abstract String name();
    }

    /** One bulk stream: send, half-close, then check what the far side says it received. */
    private static final class BulkConn extends Conn {
        private final DeterministicBytes data;
        private final MessageDigest sentSha;
        private final MessageDigest receivedSha;
        private final long limit;
        private final String backend;
        private final byte[] sinkReply = new byte[Backend.SINK_REPLY_BYTES];
        private int sinkReplyLength;
        private boolean outputDone;
        long sent;
        long received;
        long farSideReceived;

        BulkConn(Run run, int index, SocketChannel ch) {
            super(run, index, ch);
            Options o = run.o;
            this.backend = o.backend;
            boolean source = backend.equals("source");
            this.data = new DeterministicBytes(source ? o.seed : o.seed + index);
            this.sentSha = o.verify && !source ? DeterministicBytes.sha256() : null;
            this.receivedSha = o.verify && backend.equals("echo") ? DeterministicBytes.sha256() : null;
            this.limit = source ? 0 : o.bytes;
        }

        @Override
        String name() {
            return "stream " + index;
        }

        @Override
        String state() {
            return outputDone ? "sent " + sent + " bytes, waiting for the " + backend + ", received " + received
                    : "sending, " + sent + " bytes sent";
        }

        @Override
        void begin(Loop loop) throws IOException {
            if (backend.equals("source")) {
                finishOutput();
            } else {
                interest(SelectionKey.OP_READ | SelectionKey.OP_WRITE);
            }
        }

        private void finishOutput() throws IOException {
            outputDone = true;
            ch.shutdownOutput();
            interest(SelectionKey.OP_READ);
        }

        @Override
        void ready(Loop loop, int ops) throws IOException {
            if ((ops & SelectionKey.OP_WRITE) != 0 && !outputDone) {
                write(loop);
            }
            if ((ops & SelectionKey.OP_READ) != 0 && !done) {
                read(loop);
            }
        }

        private void write(Loop loop) throws IOException {
            long deadline = run.deadline;
            for (int chunk = 0; chunk < CHUNKS_PER_EVENT; chunk++) {
                if (sent >= limit || (deadline != 0 && System.nanoTime() - deadline >= 0)) {
                    finishOutput();
                    return;
                }
                int len = (int) Math.min(loop.out.length, limit - sent);
                data.fill(loop.out, 0, len, sent);
                loop.outBuffer.clear().limit(len);
                int n = ch.write(loop.outBuffer);
                if (n > 0) {
                    if (sentSha != null) {
                        if (run.o.expectUppercase) {
                            TransformingProxy.upperCaseAscii(loop.out, 0, n);
                        }
                        sentSha.update(loop.out, 0, n);
                    }
                    sent += n;
                    lastProgress = System.nanoTime();
                }
                if (n < len) {
                    return;       // the socket is full: wait for OP_WRITE; the rest is regenerated
                }
            }
        }

        private void read(Loop loop) throws IOException {
            for (int chunk = 0; chunk < CHUNKS_PER_EVENT; chunk++) {
                loop.inBuffer.clear();
                int n = ch.read(loop.inBuffer);
                if (n == 0) {
                    return;
                }
                if (n < 0) {
                    endOfStream();
                    return;
                }
                lastProgress = System.nanoTime();
                switch (backend) {
                    case "echo":
                        if (receivedSha != null) {
                            receivedSha.update(loop.in, 0, n);
                        }
                        received += n;
                        farSideReceived = received;
                        break;
                    case "sink":
                        if (sinkReplyLength + n > sinkReply.length) {
                            mismatch("the sink sent more than its " + sinkReply.length + "-byte reply");
                            return;
                        }
                        System.arraycopy(loop.in, 0, sinkReply, sinkReplyLength, n);
                        sinkReplyLength += n;
                        received += n;
                        break;
                    case "source":
                        if (run.o.verify) {
                            data.fill(loop.expected, 0, n, received);
                            int at = Arrays.mismatch(loop.in, 0, n, loop.expected, 0, n);
                            if (at >= 0) {
                                farSideReceived = received + at;
                                mismatch("byte " + (received + at) + " from the source differs");
                                return;
                            }
                        }
                        received += n;
                        farSideReceived = received;
                        break;
                    default:
                        throw new AssertionError(backend);
                }
            }
        }

        private void endOfStream() {
            if (!outputDone) {
                error("the peer closed after " + sent + " bytes sent, before the stream was complete");
                return;
            }
            switch (backend) {
                case "echo":
                    if (received != sent) {
                        mismatch("sent " + sent + " bytes, " + received + " came back");
                    } else if (receivedSha != null && !Arrays.equals(sentSha.digest(), receivedSha.digest())) {
                        mismatch("SHA-256 of the " + sent + " echoed bytes differs from what was sent");
                    }
                    break;
                case "sink": {
                    if (sinkReplyLength < sinkReply.length) {
                        error("the sink's reply is " + sinkReplyLength + " bytes, expected " + sinkReply.length
                                + " (connection closed early)");
                        return;
                    }
                    long count = ByteBuffer.wrap(sinkReply).getLong();
                    farSideReceived = count;
                    if (count != sent) {
                        mismatch("sent " + sent + " bytes, the sink received " + count);
                    } else if (sentSha != null
                            && !Arrays.equals(sentSha.digest(), Arrays.copyOfRange(sinkReply, 8, sinkReply.length))) {
                        mismatch("SHA-256 of the " + sent + " bytes the sink received differs from what was sent");
                    }
                    break;
                }
                case "source":
                    if (run.o.bytes != Long.MAX_VALUE && received != run.o.bytes) {
                        mismatch("the source sent " + received + " bytes, expected --bytes " + run.o.bytes);
                    }
                    break;
                default:
                    throw new AssertionError(backend);
            }
            finish();
        }
    }

    /** One request/response connection: send, await the full response, verify, repeat. */
    private static final class RrConn extends Conn {
        private final byte[] request;
        private final ByteBuffer requestBuffer;
        private int responseBytes;
        private long sequence;
        private long startedAt;
        private boolean closing;
        long counted;

        /** A connection whose request 0 was exchanged while connecting ({@code primeRequest}). */
        RrConn(Run run, int index, SocketChannel ch) {
            super(run, index, ch);
            request = request(run.o, index, 0);
            requestBuffer = ByteBuffer.wrap(request);
            sequence = 1;
        }

        /** Connection {@code index}'s request bytes, with {@code sequence} in its first 8 bytes. */
        static byte[] request(Options o, int index, long sequence) {
            byte[] request = new byte[o.size];
            new DeterministicBytes(o.seed + index).fill(request, 0, request.length, 0);
            stamp(request, sequence);
            return request;
        }

        /** Puts {@code sequence} in the request's first 8 bytes (when it has them). */
        private static void stamp(byte[] request, long sequence) {
            if (request.length >= 8) {
                ByteBuffer.wrap(request).putLong(0, sequence);
            }
        }

        @Override
        String name() {
            return "connection " + index;
        }


        @Override
        String state() {
            return closing ? "waiting for EOF after " + sequence + " requests"
                    : requestBuffer.hasRemaining() ? "sending request " + sequence
                    : "waiting for response " + sequence + " (" + responseBytes + " bytes so far)";
        }

        @Override
        void begin(Loop loop) throws IOException {
            next(System.nanoTime());
        }

        /** Starts the next request, or the close when the time is up. */
        private void next(long now) throws IOException {
            if (now - run.deadline >= 0) {
                closing = true;
                ch.shutdownOutput();
                interest(SelectionKey.OP_READ);
                return;
            }
            stamp(request, sequence);
            requestBuffer.clear();
            responseBytes = 0;
            startedAt = now;
            ch.write(requestBuffer);
            interest(requestBuffer.hasRemaining() ? SelectionKey.OP_WRITE : SelectionKey.OP_READ);
        }

        @Override
        void ready(Loop loop, int ops) throws IOException {
            if ((ops & SelectionKey.OP_WRITE) != 0 && requestBuffer.hasRemaining() && !closing) {
                ch.write(requestBuffer);
                lastProgress = System.nanoTime();
                if (!requestBuffer.hasRemaining()) {
                    interest(SelectionKey.OP_READ);
                }
            }
            if ((ops & SelectionKey.OP_READ) != 0) {
                read(loop);
            }
        }

        private void read(Loop loop) throws IOException {
            for (;;) {
                loop.inBuffer.clear();
                if (!closing) {
                    loop.inBuffer.limit(Math.min(loop.in.length, request.length - responseBytes));
                }
                int n = ch.read(loop.inBuffer);
                if (n == 0) {
                    return;
                }
                if (n < 0) {
                    if (closing) {
                        finish();
                    } else {
                        error("closed by the peer after " + sequence + " responses");
                    }
                    return;
                }
                long now = System.nanoTime();
                lastProgress = now;
                if (closing) {
                    mismatch(n + " unexpected bytes after the last response");
                    return;
                }
                if (requestBuffer.hasRemaining()) {
                    mismatch("response bytes arrived before request " + sequence + " was fully sent");
                    return;
                }
                if (run.o.verify && Arrays.mismatch(loop.in, 0, n, request, responseBytes, responseBytes + n) >= 0) {
                    mismatch("response " + sequence + " differs from its request");
                    return;
                }
                responseBytes += n;
                if (responseBytes == request.length) {
                    if (startedAt - run.measureFrom >= 0) {
                        run.latencies.recordValue(now - startedAt);
                        if (now - run.deadline <= 0) {
                            counted++;
                        }
                    }
                    sequence++;
                    next(now);
                    if (closing) {
                        continue;   // read until the server's EOF
                    }
                    return;
                }
            }
        }
    }

    /** The soft RLIMIT_NOFILE of this process (from /proc/self/limits), or Long.MAX_VALUE. */
    static long openFileLimit() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/limits"))) {
                if (line.startsWith("Max open files")) {
                    String soft = line.substring("Max open files".length()).trim().split("\\s+")[0];
                    return soft.equals("unlimited") ? Long.MAX_VALUE : Long.parseLong(soft);
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or unreadable: no check
        }
        return Long.MAX_VALUE;
    }
}
