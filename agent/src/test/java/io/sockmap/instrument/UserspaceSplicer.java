package io.sockmap.instrument;

import io.sockmap.engine.SocketFds;
import io.sockmap.engine.DirectionListener;
import io.sockmap.engine.FallbackReason;
import io.sockmap.engine.SpliceRefusedException;
import io.sockmap.engine.SplicedDirection;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.net.Socket;
import java.net.SocketImpl;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A test double for the engine: records every request and, unless told to refuse, "splices" a
 * direction by forwarding it on its own thread through the socket impl's streams (below the
 * instrumented {@code Socket$SocketInputStream}), so the relay thread's parked read, EOF, abort
 * and close paths run for real without BPF.
 */
final class UserspaceSplicer implements Splicer {
    record Call(int sourceFd, int targetFd, boolean aToB) {}

    final Map<Integer, Socket> sockets = new ConcurrentHashMap<>();
    final List<Call> calls = new CopyOnWriteArrayList<>();
    final List<FakeDirection> directions = new CopyOnWriteArrayList<>();
    final List<FallbackReason> fallbacks = new CopyOnWriteArrayList<>();
    volatile FallbackReason refuse;
    /** False: accept but do not forward (the test drives the listener). */
    volatile boolean forward = true;

    void register(Socket s) {
        sockets.put(SocketFds.of(s), s);
    }

    @Override
    public SplicedDirection spliceDirection(int sourceFd, int targetFd, boolean aToB, DirectionListener listener)
            throws SpliceRefusedException {
        calls.add(new Call(sourceFd, targetFd, aToB));
        FallbackReason r = refuse;
        if (r != null) throw new SpliceRefusedException(r, "test double refuses", null);
        Socket source = sockets.get(sourceFd);
        Socket target = sockets.get(targetFd);
        if (source == null || target == null) throw new SpliceRefusedException(FallbackReason.NO_FD, "unknown fd", null);
        FakeDirection d = new FakeDirection(source, target, listener);
        directions.add(d);
        if (forward) d.start();
        return d;
    }

    @Override
    public void recordFallback(FallbackReason reason) {
        fallbacks.add(reason);
    }

    /** Fds whose close was prepared as a former splice source's ({@link Splicer#prepareSourceClose}). */
    final List<Integer> sourceCloses = new CopyOnWriteArrayList<>();

    @Override
    public boolean prepareSourceClose(int fd) {
        sourceCloses.add(fd);
        return false;
    }

    static final class FakeDirection implements SplicedDirection {
        final Socket source;
        final Socket target;
        final DirectionListener listener;
        final AtomicLong moved = new AtomicLong();
        volatile boolean done;
        volatile boolean detached;
        volatile boolean writing;
        volatile int awaitDrainedCalls;

        FakeDirection(Socket source, Socket target, DirectionListener listener) {
            this.source = source;
            this.target = target;
            this.listener = listener;
        }

        void start() {
            Thread t = new Thread(this::run, "fake-engine");
            t.setDaemon(true);
            t.start();
        }

        private void run() {
            try {
                InputStream in = implStream(source, "getInputStream");
                OutputStream out = implStream(target, "getOutputStream");
                byte[] buf = new byte[32768];
                int n;
                while ((n = read(in, buf)) > 0) {
                    if (detached) return;
                    writing = true;
                    out.write(buf, 0, n);
                    writing = false;
                    moved.addAndGet(n);
                }
                if (!detached) {
                    done = true;
                    listener.onEof();
                }
            } catch (IOException e) {
                if (!detached) {
                    done = true;
                    listener.onAbort(e);
                }
            } finally {
                writing = false;
            }
        }

        /** The impl stream honours the source's SO_TIMEOUT; the kernel would not. */
        private static int read(InputStream in, byte[] buf) throws IOException {
            for (;;) {
                try {
                    return in.read(buf, 0, buf.length);
                } catch (java.net.SocketTimeoutException e) {
                    // keep waiting
                }
            }
        }

        @Override public long kernelBytes() { return moved.get(); }
        @Override public long userspaceBytes() { return 0; }
        @Override public long inflightBytes() { return 0; }
        @Override public boolean isDone() { return done; }

        @Override
        public boolean awaitDrained(long timeoutMillis) throws InterruptedException {
            awaitDrainedCalls++;
            long deadline = System.currentTimeMillis() + timeoutMillis;
            while (writing && System.currentTimeMillis() < deadline) Thread.sleep(1);
            return !writing;
        }

        @Override
        public void abort(String reason) {
            done = true;
            listener.onAbort(new IOException(reason));
        }

        @Override
        public void detach() {
            detached = true;
        }
    }

    static <T> T implStream(Socket s, String getter) throws IOException {
        try {
            Field impl = Socket.class.getDeclaredField("impl");
            impl.setAccessible(true);
            Object i = impl.get(s);
            Method m = SocketImpl.class.getDeclaredMethod(getter);
            m.setAccessible(true);
            @SuppressWarnings("unchecked")
            T stream = (T) m.invoke(i);
            return stream;
        } catch (ReflectiveOperationException e) {
            throw new IOException(e);
        }
    }
}
