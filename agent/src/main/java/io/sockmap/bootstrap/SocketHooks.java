package io.sockmap.bootstrap;

import java.net.Socket;

/**
 * What instrumented {@code java.net} code reports, implemented by the agent (in its own class
 * loader) and published through {@link SocketBridge#hooks}. Implementations must not throw; the
 * bridge catches anything that escapes anyway.
 */
public interface SocketHooks {
    /**
     * A thread is about to read up to {@code len} bytes from {@code socket}'s input stream.
     *
     * @return {@code null} to let the real read run; an {@link Integer} to return instead of
     *     reading (-1: EOF); an {@link java.io.IOException} to throw instead of reading
     */
    Object beforeRead(Socket socket, int len);

    /** A read from {@code socket} returned {@code n} (bytes stored in {@code b[off..off+n)}, or -1). */
    void afterRead(Socket socket, byte[] b, int off, int n);

    /**
     * Whether {@code socket}'s input stream should report {@code available() == 0} instead of
     * asking the kernel: for a spliced source (its bytes belong to the kernel) and for a source
     * about to be handed over, so that a {@code BufferedInputStream} returns what it holds instead
     * of refilling while the relay still holds bytes it has not written.
     */
    default boolean hidesAvailable(Socket socket) { return false; }

    /** A write of {@code b[off..off+len)} to {@code socket} completed. */
    void afterWrite(Socket socket, byte[] b, int off, int len);

    /** {@code socket.close()} was called; runs before the real close. */
    void beforeClose(Socket socket);

    /** {@code socket} was returned by {@code ServerSocket.accept}. */
    void accepted(Socket socket);
}
