package io.sockmap.agent;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AgentConfigTest {

    private static AgentConfig.Parsed props(String... kv) {
        Map<String, String> m = new HashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put(kv[i], kv[i + 1]);
        return AgentConfig.parse(m, null);
    }

    private static AgentConfig.Parsed args(String agentArgs) {
        return AgentConfig.parse(Map.of(), agentArgs);
    }

    private static AgentConfig ok(AgentConfig.Parsed p) {
        assertEquals(List.of(), p.warnings());
        return p.config();
    }

    private static String oneWarning(AgentConfig.Parsed p) {
        assertEquals(1, p.warnings().size(), () -> "warnings: " + p.warnings());
        return p.warnings().get(0);
    }

    @Test
    void defaults() {
        AgentConfig c = ok(AgentConfig.parse(Map.of("java.version", "17", "user.dir", "/"), null));
        assertTrue(c.enabled());
        assertTrue(c.ports().isAll());
        assertTrue(c.skipPorts().isEmpty());
        assertEquals(List.of(), c.addresses());
        assertEquals(List.of(), c.skipAddresses());
        assertEquals(256L << 10, c.minBytes());
        assertEquals(16384, c.maxPairs());
        assertEquals(16L << 20, c.maxInflightBytes());
        assertEquals(30_000, c.drainTimeoutMillis());
        assertEquals(AgentLog.Level.INFO, c.logLevel());
        assertFalse(c.failHard());
        assertEquals(AgentConfig.defaults().toString(), c.toString());
        assertEquals("enabled=true, ports=all, skipPorts=none, addresses=all, skipAddresses=none, minBytes=256k, "
                + "maxPairs=16384, maxInflight=16m, drainTimeout=30s, logLevel=info, failHard=false, nettyEpoll=true", c.toString());
        assertEquals(new io.sockmap.engine.EngineConfig(16384, 16L << 20, 30_000), c.engineConfig());
        assertEquals(ok(args(null)).toString(), ok(args("")).toString());
        assertEquals(ok(args(" , ,")).toString(), c.toString());
    }

    @Test
    void everyKeyFromSystemProperties() {
        AgentConfig c = ok(props(
                "sockmap.enabled", "FALSE",
                "sockmap.ports", "80;443+8000-8002|9000",
                "sockmap.skipPorts", "22",
                "sockmap.addresses", "10.0.0.0/8;::1/128",
                "sockmap.skipAddresses", "10.1.0.0/16",
                "sockmap.minBytes", "1m",
                "sockmap.maxPairs", "1048576",
                "sockmap.maxInflight", "64K",
                "sockmap.drainTimeout", "500ms",
                "sockmap.logLevel", "DEBUG",
                "sockmap.failHard", "true"));
        assertFalse(c.enabled());
        assertEquals("80;443;8000-8002;9000", c.ports().toString());
        assertEquals("22", c.skipPorts().toString());
        assertEquals("[10.0.0.0/8, ::1/128]", c.addresses().toString());
        assertEquals("[10.1.0.0/16]", c.skipAddresses().toString());
        assertEquals(1 << 20, c.minBytes());
        assertEquals(1 << 20, c.maxPairs());
        assertEquals(65536, c.maxInflightBytes());
        assertEquals(500, c.drainTimeoutMillis());
        assertEquals(AgentLog.Level.DEBUG, c.logLevel());
        assertTrue(c.failHard());
    }

    @Test
    void everyKeyFromAgentArgs() {
        AgentConfig c = ok(args("enabled=false, ports=80+443 ,skipPorts=22;23,addresses=127.0.0.0/8|::1,"
                + "skipAddresses=192.168.1.1,minBytes=0,maxPairs=1,maxInflight=1g,drainTimeout=2m,logLevel=off,"
                + "sockmap.failHard=true"));
        assertFalse(c.enabled());
        assertEquals("80;443", c.ports().toString());
        assertEquals("22-23", c.skipPorts().toString());
        assertEquals("[127.0.0.0/8, ::1/128]", c.addresses().toString());
        assertEquals("[192.168.1.1/32]", c.skipAddresses().toString());
        assertEquals(0, c.minBytes());
        assertEquals(1, c.maxPairs());
        assertEquals(1L << 30, c.maxInflightBytes());
        assertEquals(120_000, c.drainTimeoutMillis());
        assertEquals(AgentLog.Level.OFF, c.logLevel());
        assertTrue(c.failHard());
    }

    @Test
    void systemPropertyOverridesAgentArgument() {
        AgentConfig c = ok(AgentConfig.parse(Map.of("sockmap.maxPairs", "10", "sockmap.logLevel", "warn"),
                "maxPairs=20,minBytes=1k"));
        assertEquals(10, c.maxPairs());
        assertEquals(1024, c.minBytes());
        assertEquals(AgentLog.Level.WARN, c.logLevel());
    }

    @Test
    void badSystemPropertyFallsBackToValidAgentArgumentAndSaysSo() {
        AgentConfig.Parsed p = AgentConfig.parse(Map.of("sockmap.maxPairs", "abc"), "maxPairs=20");
        assertEquals("ignoring sockmap.maxPairs=\"abc\": expected an integer from 1 to 1048576; using 20", oneWarning(p));
        assertEquals(20, p.config().maxPairs());
    }

    @Test
    void badAgentArgumentIsReportedEvenWhenOverridden() {
        AgentConfig.Parsed p = AgentConfig.parse(Map.of("sockmap.maxPairs", "7"), "maxPairs=-1");
        assertEquals("ignoring agent argument maxPairs=\"-1\": expected an integer from 1 to 1048576; using 7", oneWarning(p));
        assertEquals(7, p.config().maxPairs());
    }

    @Test
    void listSeparators() {
        assertEquals("80;443", ok(props("sockmap.ports", "80,443")).ports().toString(), "comma in a property");
        assertEquals("80;443", ok(props("sockmap.ports", " 80 ; 443 ;")).ports().toString());
        assertEquals("80;443", ok(args("ports=80|443")).ports().toString());
        assertTrue(ok(props("sockmap.ports", "")).ports().isAll(), "empty = all");
        assertTrue(ok(props("sockmap.ports", " ; ")).ports().isAll(), "blank items only = all");
        assertTrue(ok(args("skipPorts=")).skipPorts().isEmpty());
        assertEquals(List.of(), ok(args("addresses=")).addresses());
    }

    @Test
    void commaInsideAgentArgumentListIsExplained() {
        AgentConfig.Parsed p = args("ports=80,443");
        assertEquals("ignoring agent argument \"443\": expected key=value; settings are separated by ',' and list items by"
                + " ';' (or '+' or '|')", oneWarning(p));
        assertEquals("80", p.config().ports().toString());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '#', value = {
            "enabled#yes#expected true or false; using true",
            "enabled##expected true or false; using true",
            "failHard#1#expected true or false; using false",
            "maxPairs#abc#expected an integer from 1 to 1048576; using 16384",
            "maxPairs#0#0 is out of range; expected an integer from 1 to 1048576; using 16384",
            "maxPairs#1048577#1048577 is out of range; expected an integer from 1 to 1048576; using 16384",
            "maxPairs#99999999999#expected an integer from 1 to 1048576; using 16384",
            "maxPairs#1.5#expected an integer from 1 to 1048576; using 16384",
            "minBytes#64x#expected a size from 0 to 1024g: bytes with an optional suffix k, m or g (like 64k); using 256k",
            "minBytes#-1#expected a size from 0 to 1024g: bytes with an optional suffix k, m or g (like 64k); using 256k",
            "minBytes#k#expected a size from 0 to 1024g: bytes with an optional suffix k, m or g (like 64k); using 256k",
            "minBytes#1025g#1025g is out of range; expected a size from 0 to 1024g: bytes with an optional suffix k, m or g (like 64k); using 256k",
            "maxInflight#1000#1000 is out of range; expected a size from 64k to 1g: bytes with an optional suffix k, m or g (like 4m); using 16m",
            "maxInflight#2g#2g is out of range; expected a size from 64k to 1g: bytes with an optional suffix k, m or g (like 4m); using 16m",
            "maxInflight#4mb#expected a size from 64k to 1g: bytes with an optional suffix k, m or g (like 4m); using 16m",
            "drainTimeout#30#a unit is required; expected a duration from 1ms to 24h with a unit ms, s, m or h (like 30s or 500ms); using 30s",
            "drainTimeout#0s#0s is out of range; expected a duration from 1ms to 24h with a unit ms, s, m or h (like 30s or 500ms); using 30s",
            "drainTimeout#25h#25h is out of range; expected a duration from 1ms to 24h with a unit ms, s, m or h (like 30s or 500ms); using 30s",
            "drainTimeout#1.5s#expected a duration from 1ms to 24h with a unit ms, s, m or h (like 30s or 500ms); using 30s",
            "drainTimeout#soon#expected a duration from 1ms to 24h with a unit ms, s, m or h (like 30s or 500ms); using 30s",
            "logLevel#trace#expected off, error, warn, info or debug; using info",
            "ports#http#\"http\" is not a port; expected ports 1-65535 or ranges like 8000-8099, separated by ';' (or '+' or '|'); using all ports",
            "ports#80;0#0 is not a port; expected ports 1-65535 or ranges like 8000-8099, separated by ';' (or '+' or '|'); using all ports",
            "ports#65536#65536 is not a port; expected ports 1-65535 or ranges like 8000-8099, separated by ';' (or '+' or '|'); using all ports",
            "ports#90-80#\"90-80\" is an empty range; expected ports 1-65535 or ranges like 8000-8099, separated by ';' (or '+' or '|'); using all ports",
            "skipPorts#22-#\"\" is not a port; expected ports 1-65535 or ranges like 8000-8099, separated by ';' (or '+' or '|'); using none",
            "addresses#10.0.0.0/33#\"10.0.0.0/33\" has a prefix length above 32; expected CIDR blocks like 10.0.0.0/8 or ::1/128, separated by ';' (or '+' or '|'); using all addresses",
            "addresses#localhost#\"localhost\" is not an IP address or CIDR block; expected CIDR blocks like 10.0.0.0/8 or ::1/128, separated by ';' (or '+' or '|'); using all addresses",
            "addresses#10.0.0/8#\"10.0.0/8\" is not an IP address or CIDR block; expected CIDR blocks like 10.0.0.0/8 or ::1/128, separated by ';' (or '+' or '|'); using all addresses",
            "skipAddresses#::1/129#\"::1/129\" has a prefix length above 128; expected CIDR blocks like 10.0.0.0/8 or ::1/128, separated by ';' (or '+' or '|'); using none",
            "skipAddresses#fe80::1%eth0#\"fe80::1%eth0\" is not an IP address or CIDR block; expected CIDR blocks like 10.0.0.0/8 or ::1/128, separated by ';' (or '+' or '|'); using none",
            "skipAddresses#10.0.0.0/#\"10.0.0.0/\" has no valid prefix length after '/'; expected CIDR blocks like 10.0.0.0/8 or ::1/128, separated by ';' (or '+' or '|'); using none",
    })
    void badValueGivesOneLineAndTheDefault(String key, String value, String tail) {
        String v = value == null ? "" : value;
        AgentConfig.Parsed fromProp = props("sockmap." + key, v);
        assertEquals("ignoring sockmap." + key + "=\"" + v + "\": " + tail, oneWarning(fromProp));
        assertEquals(AgentConfig.defaults().toString(), fromProp.config().toString());

        AgentConfig.Parsed fromArg = args(key + "=" + v);
        assertEquals("ignoring agent argument " + key + "=\"" + v + "\": " + tail, oneWarning(fromArg));
        assertEquals(AgentConfig.defaults().toString(), fromArg.config().toString());
    }

    @Test
    void unknownKeys() {
        assertEquals("ignoring unknown property sockmap.maxpairs=\"10\": did you mean sockmap.maxPairs?",
                oneWarning(props("sockmap.maxpairs", "10")));
        assertEquals("ignoring unknown agent argument colour=\"red\": known keys are enabled, ports, skipPorts, addresses,"
                + " skipAddresses, minBytes, maxPairs, maxInflight, drainTimeout, logLevel, failHard, nettyEpoll",
                oneWarning(args("colour=red")));
        assertEquals("ignoring unknown agent argument MINBYTES=\"1\": did you mean minBytes?", oneWarning(args("MINBYTES=1")));
        // dotted names are reserved (internal markers), other prefixes are not ours
        ok(props("sockmap.agent.attached", "premain", "sockmap.it.skip", "true", "sockmapx", "1", "other.key", "1"));
    }

    @Test
    void repeatedAgentArgumentLastWins() {
        AgentConfig.Parsed p = args("maxPairs=1,maxPairs=2");
        assertEquals("agent argument maxPairs is given more than once; the last one (\"2\") wins", oneWarning(p));
        assertEquals(2, p.config().maxPairs());
    }

    @Test
    void conflictsSkipWins() {
        AgentConfig.Parsed p = props("sockmap.ports", "80;8080-8082", "sockmap.skipPorts", "8081;22");
        assertEquals("sockmap.ports and sockmap.skipPorts both list 8081: skipPorts wins, those ports are never spliced",
                oneWarning(p));
        AgentConfig c = p.config();
        assertFalse(c.shouldSplice(sa("10.0.0.1", 8081), sa("10.0.0.2", 5000), sa("10.0.0.1", 40000), sa("10.0.0.3", 9000)));
        assertTrue(c.shouldSplice(sa("10.0.0.1", 8080), sa("10.0.0.2", 5000), sa("10.0.0.1", 40000), sa("10.0.0.3", 9000)));

        AgentConfig.Parsed q = args("addresses=10.0.0.0/8;192.168.0.0/16,skipAddresses=10.1.2.3/8");
        assertEquals("sockmap.addresses and sockmap.skipAddresses both list 10.0.0.0/8: skipAddresses wins, those"
                + " addresses are never spliced", oneWarning(q));

        AgentConfig.Parsed all = props("sockmap.ports", "80", "sockmap.skipPorts", "80");
        assertEquals(1, all.warnings().size());
        assertFalse(all.config().shouldSplice(sa("10.0.0.1", 80), sa("10.0.0.2", 5000), sa("10.0.0.1", 40000),
                sa("10.0.0.3", 9000)));
        assertFalse(all.config().shouldSplice(sa("10.0.0.1", 81), sa("10.0.0.2", 5000), sa("10.0.0.1", 40000),
                sa("10.0.0.3", 9000)), "nothing left to splice: not 'all ports'");
    }

    @Test
    void overlappingBlocksAreNotAConflict() {
        AgentConfig c = ok(args("addresses=10.0.0.0/8,skipAddresses=10.1.0.0/16"));
        assertTrue(c.shouldSplice(sa("127.0.0.1", 8080), sa("10.2.0.1", 5000), null, null));
        assertFalse(c.shouldSplice(sa("127.0.0.1", 8080), sa("10.1.0.1", 5000), null, null));
    }

    @Test
    void valueFormats() {
        assertEquals(65536, ok(args("minBytes=65536")).minBytes());
        assertEquals(3L << 30, ok(args("minBytes=3G")).minBytes());
        assertEquals(1024L << 30, ok(args("minBytes=1024g")).minBytes());
        assertEquals(7, ok(args("drainTimeout=7MS")).drainTimeoutMillis());
        assertEquals(3_600_000, ok(args("drainTimeout=1h")).drainTimeoutMillis());
        assertEquals(24L * 3_600_000, ok(args("drainTimeout=24h")).drainTimeoutMillis());
        assertEquals(30_000, ok(args("drainTimeout= 30s ")).drainTimeoutMillis());
        assertTrue(ok(args("enabled=True")).enabled());
        assertEquals("1500ms", AgentConfig.formatDuration(1500));
        assertEquals("1000", AgentConfig.formatSize(1000));
        assertEquals("0", AgentConfig.formatSize(0));
    }

    static InetSocketAddress sa(String ip, int port) {
        try {
            return new InetSocketAddress(InetAddress.getByName(ip), port);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Nested
    class Filter {
        // a proxy on 8080 relaying client 192.0.2.10:51000 to backend 10.0.0.5:9000
        final InetSocketAddress localA = sa("10.0.0.1", 8080);
        final InetSocketAddress remoteA = sa("192.0.2.10", 51000);
        final InetSocketAddress localB = sa("10.0.0.1", 43000);
        final InetSocketAddress remoteB = sa("10.0.0.5", 9000);

        boolean splice(String agentArgs) {
            return ok(args(agentArgs)).shouldSplice(localA, remoteA, localB, remoteB);
        }

        @Test
        void defaultsSpliceEverything() {
            assertTrue(splice(""));
            assertTrue(AgentConfig.defaults().shouldSplice(null, null, null, null));
        }

        @ParameterizedTest
        @ValueSource(strings = {"ports=8080", "ports=51000", "ports=43000", "ports=9000", "ports=1+9000-9001",
                "addresses=192.0.2.0/24", "addresses=10.0.0.5", "addresses=0.0.0.0/0",
                "skipPorts=22", "skipAddresses=10.0.0.1", "skipAddresses=::/0",
                "ports=8080,addresses=10.0.0.0/8,skipPorts=22,skipAddresses=10.0.0.6/32"})
        void spliced(String rules) {
            assertTrue(splice(rules), rules);
        }

        @ParameterizedTest
        @ValueSource(strings = {"ports=80", "addresses=198.51.100.0/24", "addresses=::1",
                "skipPorts=8080", "skipPorts=51000", "skipPorts=43000", "skipPorts=9000-9999",
                "skipAddresses=192.0.2.10", "skipAddresses=10.0.0.0/24", "skipAddresses=0.0.0.0/0",
                "ports=8080,skipAddresses=10.0.0.5", "addresses=10.0.0.0/8,skipPorts=9000"})
        void notSpliced(String rules) {
            assertFalse(splice(rules), rules);
        }

        @Test
        void localAddressesAreNotMatched() {
            assertFalse(splice("addresses=10.0.0.1"), "10.0.0.1 is only the proxy's own address");
        }

        @Test
        void ipv4MappedPeersMatchIpv4Blocks() throws Exception {
            InetAddress mapped = Inet6Address.getByAddress(null,
                    new byte[]{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff, 127, 0, 0, 1}, -1);
            assertTrue(mapped instanceof Inet6Address, "a real IPv6 object with a mapped address");
            InetSocketAddress peer = new InetSocketAddress(mapped, 40000);
            InetSocketAddress local = new InetSocketAddress(InetAddress.getByName("::1"), 8080);
            assertTrue(ok(args("addresses=127.0.0.0/8")).shouldSplice(local, peer, null, null));
            assertFalse(ok(args("skipAddresses=127.0.0.1")).shouldSplice(local, peer, null, null));
            assertTrue(ok(args("addresses=::ffff:127.0.0.0/104")).shouldSplice(local, sa("127.1.2.3", 1), null, null));
            assertFalse(ok(args("addresses=::1")).shouldSplice(local, peer, null, null));
        }

        @Test
        void ipv6() {
            AgentConfig c = ok(args("addresses=2001:db8::/32"));
            assertTrue(c.shouldSplice(null, sa("2001:db8:1::7", 1000), null, null));
            assertFalse(c.shouldSplice(null, sa("2001:db9::7", 1000), null, null));
            assertFalse(c.shouldSplice(null, sa("32.1.13.184", 1000), null, null), "the same bytes as IPv4 are not IPv6");
        }

        @Test
        void nullAddressesNeverSkipAndNeverSatisfy() {
            assertTrue(ok(args("skipPorts=1,skipAddresses=0.0.0.0/0")).shouldSplice(null, null, null, null));
            assertFalse(ok(args("ports=8080")).shouldSplice(null, null, null, null));
            assertFalse(ok(args("addresses=0.0.0.0/0")).shouldSplice(localA, null, localB, null));
            assertTrue(ok(args("addresses=0.0.0.0/0")).shouldSplice(localA, null, localB, remoteB));
        }

        @Test
        void portsAllow() {
            AgentConfig c = ok(args("ports=8080,skipPorts=9000"));
            assertTrue(c.portsAllow(8080, 1));
            assertFalse(c.portsAllow(8080, 9000));
            assertFalse(c.portsAllow(81));
            assertTrue(AgentConfig.defaults().portsAllow(1, 2));
        }
    }
}
