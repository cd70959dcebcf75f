package io.sockmap.instrument;

import java.net.Socket;
import java.util.Map;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Socket -> {@link TrackedSocket}, weakly keyed (a socket the application drops is forgotten) and
 * striped by identity hash so relay threads rarely contend; threads cache their last few entries
 * ({@link ThreadContext}), so a relay in steady state does not come here. Live directions are
 * held strongly in {@link #live} until released.
 */
final class SocketRegistry {
    private static final int STRIPES = 64;

    @SuppressWarnings("unchecked")
    private final Map<Socket, TrackedSocket>[] stripes = new Map[STRIPES];
    private final Set<SpliceLink> live = ConcurrentHashMap.newKeySet();
    private final AgentPairs pairs = new AgentPairs();

    SocketRegistry() {
        for (int i = 0; i < STRIPES; i++) stripes[i] = new WeakHashMap<>();
    }

    TrackedSocket getOrCreate(Socket socket) {
        Map<Socket, TrackedSocket> stripe = stripe(socket);
        synchronized (stripe) {
            TrackedSocket t = stripe.get(socket);
            if (t == null) {
                t = new TrackedSocket(socket);
                stripe.put(socket, t);
            }
            return t;
        }
    }

    /** The socket's entry, or {@code null} if it was never seen. */
    TrackedSocket get(Socket socket) {
        Map<Socket, TrackedSocket> stripe = stripe(socket);
        synchronized (stripe) {
            return stripe.get(socket);
        }
    }

    /** The socket pairs the agent spliced (counts, orientation). */
    AgentPairs pairs() { return pairs; }

    void addLive(SpliceLink link) { live.add(link); }

    void removeLive(SpliceLink link) { live.remove(link); }

    /** Directions handed to the engine and not yet released. */
    Set<SpliceLink> live() { return live; }

    private Map<Socket, TrackedSocket> stripe(Socket socket) {
        int h = System.identityHashCode(socket);
        return stripes[(h ^ (h >>> 16)) & (STRIPES - 1)];
    }
}
