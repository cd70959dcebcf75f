/**
 * The soak (not part of the test suite; run {@code bash scripts/soak.sh}): a proxy in its own JVM
 * with the agent, 10,000 concurrent connections then 100,000 churned ones from this JVM, every
 * byte checked by SHA-256 both ways, and the proxy's fds, threads, map entries and the kernel's
 * TCP memory compared with a baseline afterwards. {@link io.sockmap.it.soak.Soak} orchestrates,
 * {@link io.sockmap.it.soak.Plan} says what each connection does, {@link
 * io.sockmap.it.soak.SoakConnection} runs and verifies one, {@link io.sockmap.it.soak.ProxyProcess}
 * is the proxy under test (any main class + arguments).
 */
package io.sockmap.it.soak;
