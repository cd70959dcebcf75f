package io.sockmap.bench;

/** The backends a subject forwards to: a bulk sink, a 1 KiB request/response server, an echo. */
enum BackendKind {
    /** {@code Backend --mode sink --no-hash}: counts what it receives, replies the count at EOF. */
    SINK,
    /** {@link ReqRespServer} (NIO): answers each 1 KiB request with the same bytes. */
    REQRESP,
    /** {@code Backend --mode echo}: writes back everything it reads (the minBytes sweep). */
    ECHO
}
