package io.sockmap.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.HdrHistogram.Histogram;

/**
 * Short connections, each a new TCP connection that does one exchange and closes; {@code
 * concurrency} blocking threads repeat it for a number of seconds. Two kinds:
 * <ul>
 * <li>{@link Kind#REQUEST}: send {@code size} bytes to {@code Backend --mode reqresp}, read the
 *     same {@code size} bytes back (compared), close;</li>
 * <li>{@link Kind#EXCHANGE}: send {@code size} bytes to {@code Backend --mode echo} (from a
 *     second thread) while reading the {@code size} bytes that come back (compared), then close:
 *     both directions carry {@code size} bytes and the connection stays established meanwhile, as
 *     an upload or download that waits for its answer does.</li>
 * </ul>
 * The latency of one connection runs from before {@code connect} to the end of the reply.
 */
final class ShortConnections {

    enum Kind { REQUEST, EXCHANGE }

    private static final java.util.concurrent.ExecutorService WRITERS =
            java.util.concurrent.Executors.newCachedThreadPool(r -> {
                Thread t = new Thread(r, "exchange-writer");
                t.setDaemon(true);
                return t;
            });

    /**
     * Connections completed in the measured window, payload bytes delivered to the backend,
     * latencies (ns), errors; the window's ends in {@link System#nanoTime()} (the machine's CPU
     * is counted over it, not over the warm-up).
     */
    record Result(long connections, long bytes, double seconds, Histogram latencies, int errors, String firstError,
                  long windowStartNanos, long windowEndNanos) {
        boolean ok() {
            return errors == 0 && connections > 0;
        }
    }

    private ShortConnections() {
    }

    /**
     * Runs for {@code warmupSeconds} unmeasured (a proxy that only starts serving short connections
     * now, or a JVM still compiling, is not what a long-running proxy does), then {@code seconds}
     * measured: the connections that start in the window count, the window ends when the last
     * one has finished.
     */
    static Result run(InetSocketAddress target, Kind kind, int size, int concurrency, double warmupSeconds,
                      double seconds) throws InterruptedException {
        byte[] payload = new byte[size];
        for (int i = 0; i < size; i++) {
            payload[i] = (byte) ('a' + i % 26);
        }
        AtomicInteger errors = new AtomicInteger();
        AtomicReference<String> firstError = new AtomicReference<>();
        List<Histogram> histograms = new ArrayList<>();
        long[] counts = new long[concurrency];
        List<Thread> threads = new ArrayList<>();
        long start = System.nanoTime() + (long) (warmupSeconds * 1e9);
        long deadline = start + (long) (seconds * 1e9);
        for (int t = 0; t < concurrency; t++) {
            Histogram h = new Histogram(3);
            histograms.add(h);
            int index = t;
            Thread thread = new Thread(() -> {
                byte[] in = new byte[Math.max(Math.min(size, 1 << 20), 64)];
                while (System.nanoTime() - deadline < 0) {
                    long t0 = System.nanoTime();
                    boolean measured = t0 - start >= 0;
                    try {
                        exchange(target, kind, payload, in);
                        if (measured) {
                            h.recordValue(System.nanoTime() - t0);
                            counts[index]++;
                        }
                    } catch (IOException | RuntimeException e) {
                        errors.incrementAndGet();
                        firstError.compareAndSet(null, e.toString());
                    }
                }
            }, "short-" + t);
            thread.setDaemon(true);
            threads.add(thread);
            thread.start();
        }
        for (Thread t : threads) {
            t.join();
        }
        long end = System.nanoTime();
        double elapsed = (end - start) / 1e9;
        Histogram all = new Histogram(3);
        histograms.forEach(all::add);
        long n = Arrays.stream(counts).sum();
        return new Result(n, n * size, elapsed, all, errors.get(), firstError.get(), start, end);
    }

    private static void exchange(InetSocketAddress target, Kind kind, byte[] payload, byte[] in) throws IOException {
        try (Socket s = new Socket()) {
            s.setTcpNoDelay(true);
            s.connect(target, 10_000);
            s.setSoTimeout(30_000);
            OutputStream out = s.getOutputStream();
            InputStream input = s.getInputStream();
            if (kind == Kind.REQUEST) {
                out.write(payload);
                readFully(input, in, payload.length);
                if (Arrays.mismatch(in, 0, payload.length, payload, 0, payload.length) >= 0) {
                    throw new IOException("response differs from the request");
                }
            } else {
                java.util.concurrent.Future<?> writing = WRITERS.submit(() -> {
                    for (int off = 0; off < payload.length; off += 64 * 1024) {
                        out.write(payload, off, Math.min(64 * 1024, payload.length - off));
                    }
                    return null;
                });
                for (int got = 0; got < payload.length; ) {
                    int r = input.read(in, 0, Math.min(in.length, payload.length - got));
                    if (r < 0) {
                        throw new IOException("EOF after " + got + " of " + payload.length + " echoed bytes");
                    }
                    if (Arrays.mismatch(in, 0, r, payload, got, got + r) >= 0) {
                        throw new IOException("echoed bytes differ from what was sent");
                    }
                    got += r;
                }
                try {
                    writing.get();
                } catch (java.util.concurrent.ExecutionException e) {
                    throw new IOException("writing: " + e.getCause(), e.getCause());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted");
                }
            }
        }
    }

    private static void readFully(InputStream in, byte[] b, int n) throws IOException {
        for (int got = 0; got < n; ) {
            int r = in.read(b, got, n - got);
            if (r < 0) {
                throw new IOException("EOF after " + got + " of " + n + " bytes");
            }
            got += r;
        }
    }
}
