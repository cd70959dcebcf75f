package io.sockmap.agent;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

class CapabilitiesTest {
    @Test
    void parsesCapEff() {
        assertEquals(List.of("CAP_BPF", "CAP_NET_ADMIN", "CAP_PERFMON", "CAP_SYS_ADMIN"),
                Capabilities.effective("Name:\tjava\nCapInh:\t0000000000000000\nCapEff:\t000001fffeffffff\n"));
        assertEquals(List.of(), Capabilities.effective("CapEff:\t0000000000000000\n"));
        assertEquals(List.of("CAP_BPF", "CAP_NET_ADMIN"),
                Capabilities.effective("CapEff:\t" + Long.toHexString((1L << 39) | (1L << 12)) + "\n"));
        assertEquals(List.of("CAP_SYS_ADMIN"), Capabilities.effective("CapEff:\t0000000000200000"));
        assertNull(Capabilities.effective("CapPrm:\t0000000000000000\n"));
        assertNull(Capabilities.effective("CapEff:\tzz\n"));
        assertNotNull(Capabilities.describeSelf());
    }
}
