/**
 * The soak (not part of the test suite; run {@code bash scripts/soak.sh}): N proxy JVMs with the
 * agent in front of a backend JVM, 10,000 concurrent connections then 100,000 churned ones from
 * the driver JVM, every byte checked by SHA-256 both ways, and the proxies' fds, threads and map
 * entries, the driver's and the backend's socket fds and the kernel's TCP sockets and memory
 * compared with a baseline afterwards. Several processes because a process may hold at most
 * {@code ulimit -n} fds (20,000 here, not raisable without {@code CAP_SYS_RESOURCE}).
 * {@link io.sockmap.it.soak.Soak} is the driver, {@link io.sockmap.it.soak.Plan} says what each
 * connection does, {@link io.sockmap.it.soak.SoakConnection} runs and verifies one (its client side
 * in the driver, its backend side in {@link io.sockmap.it.soak.SoakBackend}, reached through
 * {@link io.sockmap.it.soak.BackendProcess}), {@link io.sockmap.it.soak.ProxyProcess} is one proxy
 * under test (any main class + arguments) and {@link io.sockmap.it.soak.ProxyGroup} the N of them.
 */
package io.sockmap.it.soak;
