package io.sockmap.it.relays;

import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.Map;

/** {@code --name value} pairs of the test relays. */
final class RelayArgs {
    private final Map<String, String> values = new HashMap<>();

    RelayArgs(String[] args) {
        for (int i = 0; i + 1 < args.length; i += 2) values.put(args[i].replaceFirst("^--", ""), args[i + 1]);
    }

    int listen() { return Integer.parseInt(values.getOrDefault("listen", "0")); }

    String get(String name, String dflt) { return values.getOrDefault(name, dflt); }

    InetSocketAddress target() {
        String t = values.get("target");
        int colon = t.lastIndexOf(':');
        return new InetSocketAddress(t.substring(0, colon), Integer.parseInt(t.substring(colon + 1)));
    }
}
