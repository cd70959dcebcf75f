package io.sockmap.detect;

/** Decides once, when a direction becomes eligible, whether the pair may be spliced at all. */
@FunctionalInterface
public interface SpliceFilter {
    SpliceFilter ACCEPT_ALL = (source, target) -> true;

    boolean accept(SocketTrack source, SocketTrack target);
}
