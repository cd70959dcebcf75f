package io.sockmap.it.soak;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * N proxy JVMs (each with the agent) that the driver spreads its connections over, round robin:
 * a thread-per-connection proxy holds 2 fds per connection and a process may hold at most
 * {@code ulimit -n} (20,000 here, not raisable without {@code CAP_SYS_RESOURCE}), so 10,000
 * concurrent connections need at least 2 proxies. Counters, fds, threads and map entries are the
 * sums over all of them.
 */
final class ProxyGroup {
    final List<ProxyProcess> proxies;
    private final AtomicLong next = new AtomicLong();

    ProxyGroup(List<ProxyProcess> proxies) {
        this.proxies = List.copyOf(proxies);
    }

    /** The proxy the next connection goes to. */
    ProxyProcess next() {
        return proxies.get((int) (next.getAndIncrement() % proxies.size()));
    }

    int size() {
        return proxies.size();
    }

    /** Sum of a numeric MBean attribute; -1 if any proxy cannot answer. */
    long longAttribute(String name) {
        long sum = 0;
        for (ProxyProcess p : proxies) {
            long v = p.longAttribute(name);
            if (v < 0) return -1;
            sum += v;
        }
        return sum;
    }

    /** Key-wise sum of a map MBean attribute; empty if any proxy cannot answer. */
    Map<String, Long> mapAttribute(String name) {
        List<Map<String, Long>> each = new ArrayList<>();
        for (ProxyProcess p : proxies) {
            Map<String, Long> m = p.mapAttribute(name);
            if (m.isEmpty()) return Map.of();
            each.add(m);
        }
        return sum(each);
    }

    Map<String, Long> fds() {
        List<Map<String, Long>> each = new ArrayList<>();
        for (ProxyProcess p : proxies) each.add(p.fds());
        return sum(each);
    }

    Map<String, Long> threads() {
        List<Map<String, Long>> each = new ArrayList<>();
        for (ProxyProcess p : proxies) each.add(p.threads());
        return sum(each);
    }

    String pids() {
        StringBuilder b = new StringBuilder();
        for (ProxyProcess p : proxies) b.append(b.length() == 0 ? "" : ",").append(p.process.pid());
        return b.toString();
    }

    private static Map<String, Long> sum(List<Map<String, Long>> maps) {
        Map<String, Long> out = new TreeMap<>();
        for (Map<String, Long> m : maps) m.forEach((k, v) -> out.merge(k, v, Long::sum));
        return out;
    }
}
