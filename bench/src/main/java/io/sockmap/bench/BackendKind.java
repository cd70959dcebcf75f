package io.sockmap.bench;

/** The two backends every subject forwards to: a bulk sink and a 1 KiB request/response echo. */
enum BackendKind {
    /** {@code Backend --mode sink --no-hash}: counts what it receives, replies the count at EOF. */
    SINK,
    /** {@code Backend --mode reqresp --size 1024}: answers each 1 KiB request with the same bytes. */
    REQRESP
}
