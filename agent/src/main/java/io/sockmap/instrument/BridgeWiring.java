package io.sockmap.instrument;

import io.sockmap.bootstrap.ChannelBridge;
import io.sockmap.bootstrap.SocketBridge;
import io.sockmap.instrument.channel.ChannelSpliceHooks;

/**
 * The only class that touches {@link SocketBridge} directly; loaded after the bridge reached the
 * bootstrap class loader, so its references resolve there.
 */
final class BridgeWiring {
    private BridgeWiring() {}

    static SpliceHooks wire(InstrumentSettings settings, Splicer splicer) {
        SpliceHooks hooks = new SpliceHooks(settings, splicer);
        SocketBridge.hooks = hooks;
        ChannelBridge.hooks = new ChannelSpliceHooks(settings, splicer, hooks.pairs());
        return hooks;
    }

    static void unwire() {
        SocketBridge.hooks = null;
        ChannelBridge.hooks = null;
    }

    static SpliceHooks current() {
        Object h = SocketBridge.hooks;
        return h instanceof SpliceHooks ? (SpliceHooks) h : null;
    }
}
