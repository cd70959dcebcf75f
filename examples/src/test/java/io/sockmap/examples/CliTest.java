package io.sockmap.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;

import org.junit.jupiter.api.Test;

class CliTest {

    @Test
    void sizes() {
        assertEquals(1024, Cli.parseSize("1024"));
        assertEquals(16 << 10, Cli.parseSize("16K"));
        assertEquals(32L << 20, Cli.parseSize("32MiB"));
        assertEquals(1L << 30, Cli.parseSize("1g"));
        assertEquals(2L << 30, Cli.parseSize("2GB"));
        assertThrows(IllegalArgumentException.class, () -> Cli.parseSize("-1"));
        assertThrows(IllegalArgumentException.class, () -> Cli.parseSize("1.5G"));
        assertThrows(IllegalArgumentException.class, () -> Cli.parseSize("lots"));
    }

    @Test
    void hostPorts() {
        assertEquals(9000, Cli.parseHostPort("127.0.0.1:9000").getPort());
        assertEquals(9000, Cli.parseHostPort("9000").getPort());
        assertTrue(Cli.parseHostPort("[::1]:9000").getAddress().isLoopbackAddress());
        assertThrows(IllegalArgumentException.class, () -> Cli.parseHostPort("localhost:http"));
        assertThrows(IllegalArgumentException.class, () -> Cli.parseHostPort("localhost:0"));
    }

    @Test
    void options() throws Exception {
        Cli cli = Cli.parse(new String[] {"--listen", "0", "--target=127.0.0.1:1", "--json"},
                Set.of("listen", "target"), Set.of("json"));
        assertEquals(0, cli.port("listen", 5));
        assertTrue(cli.has("json"));
        assertEquals(1, cli.hostPort("target").getPort());
        assertThrows(Cli.UsageException.class, () -> Cli.parse(new String[] {"--nope"}, Set.of(), Set.of()));
        assertThrows(Cli.UsageException.class, () -> Cli.parse(new String[] {"--listen"}, Set.of("listen"), Set.of()));
        assertThrows(IllegalArgumentException.class, () -> LoadClient.run("--target", "127.0.0.1:1", "--mode", "x"));
        assertThrows(IllegalArgumentException.class, () -> ThreadPairProxy.launch("--listen", "0"));
    }
}
