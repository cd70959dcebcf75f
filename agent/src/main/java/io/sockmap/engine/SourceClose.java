package io.sockmap.engine;

import com.sun.jna.Memory;
import io.sockmap.kernel.KernelException;
import io.sockmap.kernel.LibC;

/**
 * The close of a socket that was a splice source, made to end the connection as the same close
 * would without the agent.
 *
 * <p>Such a socket stays in {@code sm_sources} until it is closed, so the verdict program keeps
 * taking what arrives out of its receive queue and passes it to the socket's psock queue. The
 * kernel's close counts unread bytes in the receive queue only, and frees the psock's queue only
 * later, after the close: with bytes left unread it sends a FIN where a plain socket sends a reset,
 * and that FIN carries the window of a receive buffer still charged with them, often zero. The
 * peer, still sending, then waits on a zero window that the closed socket never reopens (its
 * FIN-WAIT-2 time-wait state ignores window probes): the close-on-first-EOF relay test saw the
 * backend's writes hang beyond its 15 s (until that time-wait socket expires, about a minute, going
 * by its timer) instead of failing.
 *
 * <p>So before the close: the receive buffer is raised (a buffer that is already full cannot
 * close the window on the FIN then, so bytes the peer sends after it are answered with a reset),
 * and if any byte waits unread, {@code SO_LINGER 0} makes the close a reset, as unread bytes do
 * without the agent.
 */
public final class SourceClose {
    /** Far above anything the peer may still send into the window it was last told. */
    private static final long OPEN_RCVBUF = 8L << 20;

    private SourceClose() {
    }

    /**
     * Call just before the application closes {@code fd}, a socket that was (or still is) the
     * source of a spliced direction, after that direction was released. Never throws.
     *
     * @return true if the close will send a reset (bytes were left unread)
     */
    public static boolean prepare(int fd) {
        if (fd < 0) return false;
        try {
            int rcvbuf = LibC.getsockoptInt(fd, LibC.SOL_SOCKET, LibC.SO_RCVBUF, "getsockopt(SO_RCVBUF)");
            long raised = Math.min(Integer.MAX_VALUE / 4, Math.max(4L * rcvbuf, OPEN_RCVBUF));
            LibC.setsockoptInt(fd, LibC.SOL_SOCKET, LibC.SO_RCVBUFFORCE, (int) raised, "setsockopt(SO_RCVBUFFORCE)");
        } catch (KernelException | RuntimeException ignored) {
            // best effort: the reset below is what matters when bytes wait
        }
        try (Memory one = new Memory(1)) {
            if (LibC.recvPeekNonBlocking(fd, one, 1) > 0) {
                LibC.setLinger(fd, true, 0);
                return true;
            }
        } catch (KernelException | RuntimeException ignored) {
            // reset or closed already: the close does what it does without the agent
        }
        return false;
    }
}
