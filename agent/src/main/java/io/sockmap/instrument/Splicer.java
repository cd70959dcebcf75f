package io.sockmap.instrument;

import io.sockmap.engine.DirectionListener;
import io.sockmap.engine.FallbackReason;
import io.sockmap.engine.SourceClose;
import io.sockmap.engine.SpliceEngine;
import io.sockmap.engine.SpliceRefusedException;
import io.sockmap.engine.SplicedDirection;

/**
 * The part of {@link SpliceEngine} the instrumentation uses, so tests can put a double in its
 * place (the real engine needs root and a BPF-capable kernel).
 */
public interface Splicer {
    /** See {@link SpliceEngine#spliceDirection}. */
    SplicedDirection spliceDirection(int sourceFd, int targetFd, boolean aToB, DirectionListener listener)
            throws SpliceRefusedException;

    /** See {@link SpliceEngine#recordFallback}. */
    void recordFallback(FallbackReason reason);

    /**
     * The application is about to close {@code fd}, which was the source of a spliced direction
     * (released by now): see {@link SourceClose#prepare}. True if the close will send a reset.
     */
    boolean prepareSourceClose(int fd);

    /** The real engine behind the interface. */
    static Splicer of(SpliceEngine engine) {
        return new Splicer() {
            @Override
            public SplicedDirection spliceDirection(int sourceFd, int targetFd, boolean aToB, DirectionListener listener)
                    throws SpliceRefusedException {
                return engine.spliceDirection(sourceFd, targetFd, aToB, listener);
            }

            @Override
            public void recordFallback(FallbackReason reason) {
                engine.recordFallback(reason);
            }

            @Override
            public boolean prepareSourceClose(int fd) {
                return SourceClose.prepare(fd);
            }
        };
    }
}
