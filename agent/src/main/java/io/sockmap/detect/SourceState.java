package io.sockmap.detect;

/** Where a socket stands as the source of a relay direction. Every state but UNDECIDED is final. */
public enum SourceState {
    /** Still watching: bytes read from it are checked against what the same thread writes. */
    UNDECIDED,
    /** Eligible and being handed to the engine by its relay thread. */
    SPLICING,
    /** Its direction runs in the kernel. */
    SPLICED,
    /** Its relay thread wrote something other than the bytes it read (a transforming proxy). */
    IMPURE,
    /** More than one thread reads it, its relay thread reads other sockets too, or its target has several writers. */
    NOT_DEDICATED,
    /** It delivered a preamble's worth of bytes and none was relayed: a server or client, not a proxy. */
    NOT_A_RELAY,
    /** The configured filter rejected the pair. */
    FILTERED,
    /** The engine refused it (or is unavailable). */
    REFUSED,
    /** It reached EOF or was closed before it became eligible. */
    ENDED
}
