package io.sockmap.instrument.channel;

import io.sockmap.kernel.LibC;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class EpollRegistrationsTest {
    private static final int EPOLLOUT = 0x4;
    private static final int EPOLLRDHUP = 0x2000;
    private static final int EPOLLET = 1 << 31;

    /** Stands in for Netty's {@code Native}: the agent's advice runs around each call, as it would. */
    public static final class FakeNative {
        static EpollRegistrations registrations;
        static final List<String> calls = new ArrayList<>();

        public static void epollCtlMod(int efd, int fd, int flags) {
            int registered = registrations.register(FakeNative.class, efd, fd, flags);
            try {
                calls.add("mod " + efd + " " + fd + " " + Integer.toHexString(registered));
            } finally {
                registrations.done(fd);
            }
        }
    }

    private final EpollRegistrations r = new EpollRegistrations();

    @AfterEach
    void clear() {
        FakeNative.calls.clear();
    }

    @Test
    void aQuietSourceIsRegisteredWithoutEpollinUntilItIsWoken() {
        FakeNative.registrations = r;
        int flags = EPOLLET | EPOLLRDHUP | LibC.EPOLLIN;
        assertEquals(flags, r.register(FakeNative.class, 5, 42, flags), "not spliced: unchanged");
        r.done(42);

        r.quiet(42);
        assertEquals(List.of("mod 5 42 " + Integer.toHexString(flags & ~LibC.EPOLLIN)), FakeNative.calls);
        assertEquals((flags | EPOLLOUT) & ~LibC.EPOLLIN, r.register(FakeNative.class, 5, 42, flags | EPOLLOUT),
                "Netty's own changes are filtered too");
        r.done(42);

        FakeNative.calls.clear();
        r.wake(42);
        assertEquals(List.of("mod 5 42 " + Integer.toHexString(flags | EPOLLOUT)), FakeNative.calls,
                "woken: registered with the flags Netty last asked for");
        r.wake(42);
        assertEquals(1, FakeNative.calls.size(), "a second wake changes nothing");
    }

    @Test
    void anFdNettyNeverRegisteredOrRemovedIsLeftAlone() {
        FakeNative.registrations = r;
        r.quiet(7);
        r.wake(7);
        assertEquals(List.of(), FakeNative.calls);

        r.register(FakeNative.class, 5, 8, LibC.EPOLLIN);
        r.done(8);
        r.removed(5, 8);
        r.quiet(8);
        assertEquals(List.of(), FakeNative.calls, "removed from epoll: nothing to modify");
    }
}
