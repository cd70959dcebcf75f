/**
 * Pure relay detection: {@link io.sockmap.detect.RelayDetector} turns per-thread read and write
 * reports ({@link io.sockmap.detect.ThreadTrack}, {@link io.sockmap.detect.SocketTrack}) into
 * directions that may be spliced. No JDK instrumentation, no I/O: unit-tested on its own.
 */
package io.sockmap.detect;
