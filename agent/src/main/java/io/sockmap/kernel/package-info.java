/**
 * The one place where the project talks to the kernel: libc and the {@code bpf()} system call
 * through JNA direct mapping. Every call turns {@code -1} + errno into a {@link
 * io.sockmap.kernel.KernelException} naming the operation and the errno, and retries on
 * {@code EINTR}. Nothing above this package sees JNA types except {@link com.sun.jna.Pointer}
 * for memory it owns.
 */
package io.sockmap.kernel;
