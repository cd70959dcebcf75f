package io.sockmap.instrument;

import java.net.InetSocketAddress;

/**
 * Which pairs may be spliced, by address. "A" is the client side (the socket accepted by a
 * server socket), "B" the server side; see {@link io.sockmap.detect.RelayDetector#sourceIsA}.
 */
@FunctionalInterface
public interface AddressFilter {
    AddressFilter ALL = (localA, remoteA, localB, remoteB) -> true;

    boolean shouldSplice(InetSocketAddress localA, InetSocketAddress remoteA,
                         InetSocketAddress localB, InetSocketAddress remoteB);
}
