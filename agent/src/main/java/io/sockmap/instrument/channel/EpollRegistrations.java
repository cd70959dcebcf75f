package io.sockmap.instrument.channel;

import io.sockmap.kernel.LibC;

import java.lang.reflect.Method;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * What Netty's epoll transport registered for each fd ({@code Native.epollCtlAdd/Mod}), so a
 * spliced source can be registered without {@code EPOLLIN} while the kernel relays it, and with
 * it again when the direction ends. The kernel runs a socket's data-ready callback after every
 * redirected segment; with {@code EPOLLIN} registered, each one woke an event loop that found
 * nothing to read.
 *
 * <p>Re-registering goes through Netty's own {@code Native.epollCtlMod} with the flags Netty last
 * asked for (so the event's data is whatever that Netty version puts there); the advice filters
 * them like any of Netty's calls. A registration is locked from the filtering to the end of the
 * system call, so a re-registration from the engine's watcher thread and the event loop's own
 * calls land in the order their decisions were made.
 */
final class EpollRegistrations {
    private static final long LOCK_WAIT_MILLIS = 100;

    private static final class Registration {
        final ReentrantLock lock = new ReentrantLock();
        volatile Class<?> nativeType;
        volatile int efd;
        volatile int flags;
    }

    private final ConcurrentHashMap<Integer, Registration> byFd = new ConcurrentHashMap<>();
    private final Set<Integer> quiet = ConcurrentHashMap.newKeySet();
    private static final ClassValue<Method> CTL_MOD = new ClassValue<>() {
        @Override
        protected Method computeValue(Class<?> nativeType) {
            try {
                return nativeType.getMethod("epollCtlMod", int.class, int.class, int.class);
            } catch (ReflectiveOperationException | RuntimeException e) {
                return null;
            }
        }
    };

    /** Netty registers {@code fd}: records it, locks it until {@link #done}, and returns the flags to use. */
    int register(Class<?> nativeType, int efd, int fd, int flags) {
        Registration r = byFd.computeIfAbsent(fd, k -> new Registration());
        r.lock.lock();
        r.nativeType = nativeType;
        r.efd = efd;
        r.flags = flags;
        return quiet.contains(fd) ? flags & ~LibC.EPOLLIN : flags; // Netty's Native uses Linux's numbers
    }

    void done(int fd) {
        Registration r = byFd.get(fd);
        if (r != null && r.lock.isHeldByCurrentThread()) r.lock.unlock();
    }

    void removed(int efd, int fd) {
        Registration r = byFd.get(fd);
        if (r != null && r.efd == efd) byFd.remove(fd, r);
    }

    /** {@code fd} became a spliced source: registered again without {@code EPOLLIN}. */
    void quiet(int fd) {
        quiet.add(fd);
        reregister(fd);
    }

    /** {@code fd}'s direction ended: registered again as Netty asked. */
    void wake(int fd) {
        if (quiet.remove(fd)) reregister(fd);
    }

    private void reregister(int fd) {
        Registration r = byFd.get(fd);
        if (r == null || r.nativeType == null) return; // not an epoll-registered fd (or not yet)
        Method mod = CTL_MOD.get(r.nativeType);
        if (mod == null) return;
        boolean locked = false;
        try {
            locked = r.lock.tryLock(LOCK_WAIT_MILLIS, TimeUnit.MILLISECONDS);
            if (!locked || byFd.get(fd) != r) return;
            mod.invoke(null, r.efd, fd, r.flags); // goes through the advice, which filters
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ReflectiveOperationException | RuntimeException e) {
            // deregistered or closed meanwhile (ENOENT, EBADF): nothing to wake
        } finally {
            if (locked) r.lock.unlock();
        }
    }
}
