/**
 * Example programs for trying and testing the agent, all packaged in {@code sockmap-examples.jar}.
 *
 * <p>The proxies are written the way ordinary Java TCP proxies are written, with no knowledge of
 * the agent: {@link io.sockmap.examples.ThreadPairProxy} (two platform threads copying through a
 * {@code byte[]}), {@link io.sockmap.examples.TransferToProxy} ({@code InputStream.transferTo}),
 * {@link io.sockmap.examples.VirtualThreadProxy} (the copy loop on virtual threads, JDK 21+) and
 * {@link io.sockmap.examples.TransformingProxy} (rewrites the bytes, so it must never be spliced).
 * Run any of them with {@code -javaagent:sockmap-agent.jar} to have the kernel move the bytes.
 *
 * <p>{@link io.sockmap.examples.Backend} is the server behind the proxies (echo, sink, source,
 * request/response) and {@link io.sockmap.examples.LoadClient} drives traffic through a proxy and
 * checks every byte. Every server prints {@code listening on <port>} on stdout once it accepts.
 */
package io.sockmap.examples;
