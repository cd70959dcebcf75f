package io.sockmap.agent;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.InetAddress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CidrBlockTest {
    @ParameterizedTest
    @CsvSource({
            "10.0.0.0/8, 10.0.0.0/8",
            "10.1.2.3/8, 10.0.0.0/8",
            "192.168.1.7, 192.168.1.7/32",
            "0.0.0.0/0, 0.0.0.0/0",
            "::1, ::1/128",
            "::1/128, ::1/128",
            "2001:DB8::/32, 2001:db8::/32",
            "2001:db8:0:0:1:0:0:1/128, 2001:db8::1:0:0:1/128",
            "::/0, ::/0",
            "::ffff:10.0.0.0/104, 10.0.0.0/8",
            "::ffff:127.0.0.1, 127.0.0.1/32",
            "::ffff:7f00:1/128, 127.0.0.1/32",
            "' 10.0.0.0/8 ', 10.0.0.0/8",
    })
    void parsesToCanonicalForm(String text, String canonical) {
        assertEquals(canonical, CidrBlock.parse(text).toString());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "/8", "10.0.0/8", "10.0.0.256", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/8/8",
            "1.2.3.4.5", "01234.0.0.1", "+1.2.3.4", "localhost", "cafe", "example.com", "::1/129", "[::1]",
            "fe80::1%lo", ":::", "1::2::3", "::ffff:10.0.0.0/95", "10.0.0.0/ 8", "abc:xyz::"})
    void rejects(String text) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CidrBlock.parse(text));
        assertTrue(e.getMessage().contains(text.trim()), e.getMessage());
    }

    @Test
    void containsAtPrefixBoundaries() throws Exception {
        CidrBlock b = CidrBlock.parse("192.168.4.0/22");
        assertTrue(b.contains(InetAddress.getByName("192.168.4.0")));
        assertTrue(b.contains(InetAddress.getByName("192.168.7.255")));
        assertFalse(b.contains(InetAddress.getByName("192.168.8.0")));
        assertFalse(b.contains(InetAddress.getByName("192.168.3.255")));
        assertFalse(b.contains(null));
        assertTrue(CidrBlock.parse("0.0.0.0/0").contains(InetAddress.getByName("255.255.255.255")));
        assertFalse(CidrBlock.parse("0.0.0.0/0").contains(InetAddress.getByName("::2")));
        CidrBlock v6 = CidrBlock.parse("fd00::/7");
        assertTrue(v6.contains(InetAddress.getByName("fdff::1")));
        assertTrue(v6.contains(InetAddress.getByName("fc00::1")));
        assertFalse(v6.contains(InetAddress.getByName("fe00::1")));
    }

    @Test
    void equality() {
        assertEquals(CidrBlock.parse("10.9.9.9/8"), CidrBlock.parse("10.0.0.0/8"));
        assertEquals(CidrBlock.parse("10.9.9.9/8").hashCode(), CidrBlock.parse("10.0.0.0/8").hashCode());
        assertFalse(CidrBlock.parse("10.0.0.0/8").equals(CidrBlock.parse("10.0.0.0/9")));
        assertTrue(CidrBlock.parse("10.0.0.0/8").isIpv4());
        assertEquals(8, CidrBlock.parse("::ffff:10.0.0.0/104").prefixLength());
    }

    @Test
    void compress() {
        assertEquals("::", CidrBlock.compressIpv6("0:0:0:0:0:0:0:0"));
        assertEquals("1::", CidrBlock.compressIpv6("1:0:0:0:0:0:0:0"));
        assertEquals("1:0:2::3", CidrBlock.compressIpv6("1:0:2:0:0:0:0:3"));
        assertEquals("1:2:3:4:5:6:7:8", CidrBlock.compressIpv6("1:2:3:4:5:6:7:8"));
    }
}
