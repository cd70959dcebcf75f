package io.sockmap.bench;

import java.net.InetSocketAddress;
import java.util.Map;

/** No proxy: the client connects straight to the backend. The physical limit every ratio refers to. */
final class DirectSubject implements Subject {

    private final Map<BackendKind, InetSocketAddress> backends;

    DirectSubject(Map<BackendKind, InetSocketAddress> backends) {
        this.backends = Map.copyOf(backends);
    }

    @Override
    public String name() {
        return io.sockmap.bench.report.Summary.DIRECT;
    }

    @Override
    public InetSocketAddress endpoint(BackendKind backend) {
        return backends.get(backend);
    }

    @Override
    public long pid(BackendKind backend) {
        return -1;
    }

    @Override
    public void close() {
        // nothing started
    }
}
