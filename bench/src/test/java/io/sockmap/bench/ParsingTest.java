package io.sockmap.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class ParsingTest {

    @Test
    void processCpuSkipsACommandNameWithSpacesAndParens() {
        String stat = "1234 (java (x) y) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 30 0 12345 0 0";
        assertEquals(325, ProcFs.parseProcessCpuTicks(stat));
    }

    @Test
    void machineCpuCountsSoftirqAndIgnoresIdle() {
        ProcFs.MachineCpu c = ProcFs.parseMachineCpu(List.of("cpu  100 5 50 1000 7 3 20 2 0 0", "cpu0 1 2 3 4"));
        assertEquals(100 + 5 + 50 + 3 + 20 + 2, c.busyTicks());
        assertEquals(20, c.softirqTicks());
    }

    @Test
    void statusSockstatAndLimits() {
        assertEquals(51200, ProcFs.parseStatusKib(List.of("Name:\tjava", "VmRSS:\t   51200 kB"), "VmRSS:"));
        assertEquals(209, ProcFs.parseSockstatTcpMem(List.of("sockets: used 20",
                "TCP: inuse 1 orphan 0 tw 22 alloc 2 mem 209", "UDP: inuse 0 mem 0")));
        assertEquals(20000, ProcFs.parseOpenFileLimit(List.of("Limit Soft Limit Hard Limit Units",
                "Max open files            20000                20000                files")));
        assertEquals(9500, ProcFs.connectionsWithin(20000, 10_000));
        assertEquals(10_000, ProcFs.connectionsWithin(1_048_576, 10_000));
    }

    @Test
    void cpuInsideAWindowIsInterpolated() {
        List<Sampler.Sample> s = List.of(new Sampler.Sample(0, 0, 0, 0), new Sampler.Sample(100, 10, 20, 0),
                new Sampler.Sample(200, 30, 40, 0));
        assertEquals(15.0, Sampler.ticksBetween(s, 50, 150, Sampler.Sample::procTicks), 1e-9);
        assertEquals(40.0, Sampler.ticksBetween(s, -10, 500, Sampler.Sample::busyTicks), 1e-9);
    }

    @Test
    void straceSummaryCounts() {
        Map<String, Long> calls = SpliceCheck.parseCounts(List.of(
                "% time     seconds  usecs/call     calls    errors syscall",
                "------ ----------- ----------- --------- --------- ----------------",
                " 98.20    0.051000           9      5648        12 splice",
                "  1.80    0.000100         100         1           recvfrom",
                "------ ----------- ----------- --------- --------- ----------------",
                "100.00    0.051100           9      5649        12 total"));
        assertEquals(5648L, calls.get("splice"));
        assertEquals(1L, calls.get("recvfrom"));
        assertFalse(calls.containsKey("total"));
    }

    @Test
    void haproxyConfigSplicesOnlyWhenAsked() {
        Map<BackendKind, InetSocketAddress> backends = new EnumMap<>(BackendKind.class);
        backends.put(BackendKind.SINK, new InetSocketAddress("127.0.0.1", 9001));
        Map<BackendKind, Integer> ports = new EnumMap<>(BackendKind.class);
        ports.put(BackendKind.SINK, 9100);
        String plain = HaproxySubject.config(false, backends, ports, 9700, 200);
        String splice = HaproxySubject.config(true, backends, ports, 9700, 200);
        assertTrue(plain.contains("mode tcp") && plain.contains("bind 127.0.0.1:9100")
                && plain.contains("server s1 127.0.0.1:9001"), plain);
        assertFalse(plain.contains("splice"), plain);
        assertTrue(splice.contains("option splice-request\n    option splice-response\n"), splice);
        assertTrue(splice.contains("maxpipes 200"), splice);
    }

    @Test
    void aProxyFromTheCommandLineGetsItsPortAndTarget() {
        ProxyTable.JavaProxy p = ProxyTable.parse("Held-out.1=-Xmx1g  -cp /x/p.jar com.example.Relay {port} {targetHost} {targetPort}");
        assertEquals("Held-out.1", p.name());
        assertTrue(p.takesPort());
        assertEquals(List.of("-Xmx1g", "-cp", "/x/p.jar", "com.example.Relay", "9100", "127.0.0.1", "9001"),
                p.commandFor("ex.jar", new InetSocketAddress("127.0.0.1", 9001), 9100));
        ProxyTable.JavaProxy printsPort = ProxyTable.parse("P=-jar p.jar --to {target}");
        assertFalse(printsPort.takesPort());
        assertEquals(List.of("-jar", "p.jar", "--to", "127.0.0.1:9001"),
                printsPort.commandFor("ex.jar", new InetSocketAddress("127.0.0.1", 9001), 0));
    }

    @Test
    void aBadProxySpecSaysWhatIsExpected() {
        for (String bad : List.of("-cp p.jar Main {target}", "My Proxy=-cp p.jar Main {target}", "P=", "P=-cp p.jar Main 9000")) {
            IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                    () -> ProxyTable.parse(bad));
            assertTrue(e.getMessage().startsWith("--proxy '"), e.getMessage());
        }
    }

    @Test
    void theExamplesStartWithTheirTargetAndPrintTheirPort() {
        ProxyTable.JavaProxy netty = ProxyTable.JAVA_PROXIES.get(ProxyTable.JAVA_PROXIES.size() - 1);
        assertFalse(netty.takesPort());
        assertEquals(List.of("-cp", "ex.jar", "io.sockmap.examples.NettyProxy", "--listen", "0", "--target",
                "127.0.0.1:9001", "--transport", "epoll"), netty.commandFor("ex.jar", new InetSocketAddress("127.0.0.1", 9001), 0));
    }

    @Test
    void workloadsAreChosenByIdAndRr10000NamesTheLargeRunWhateverItsSize() {
        Plan full = Plan.full();
        Plan capped = new Plan(full.repetitions(), full.bulkSeconds(), full.rrSeconds(), full.rrWarmupSeconds(), 9500,
                full.shortSeconds(), full.shortConcurrency());
        List<Workload> all = Workload.main(capped);
        List<Workload> chosen = Bench.filterWorkloads(all, List.of("rr-10000", "bulk-1"), 9500);
        assertEquals(List.of("bulk-1", "rr-9500"), chosen.stream().map(Workload::id).toList(), "in the run's order");
        assertEquals(all, Bench.filterWorkloads(all, null, 9500));
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> Bench.filterWorkloads(all, List.of("rr-100", "bulk-2"), 9500));
        assertTrue(e.getMessage().contains("'bulk-2'") && e.getMessage().contains("rr-9500"), e.getMessage());
    }
}
