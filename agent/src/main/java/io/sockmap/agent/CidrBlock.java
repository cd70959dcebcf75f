package io.sockmap.agent;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;

/**
 * An IPv4 or IPv6 address block such as {@code 10.0.0.0/8} or {@code ::1/128}.
 *
 * <p>IPv4-mapped IPv6 addresses ({@code ::ffff:a.b.c.d}) are IPv4 addresses here, both as a block
 * ({@code ::ffff:10.0.0.0/104} is {@code 10.0.0.0/8}) and as an address to match: a dual-stack
 * socket's peer {@code ::ffff:127.0.0.1} is in {@code 127.0.0.0/8}. Host bits below the prefix are
 * ignored ({@code 10.1.2.3/8} is {@code 10.0.0.0/8}). Parsing never resolves names.
 */
public final class CidrBlock {
    private final byte[] network; // 4 or 16 bytes, host bits cleared
    private final int prefix;

    private CidrBlock(byte[] network, int prefix) {
        this.network = network;
        this.prefix = prefix;
        for (int bit = prefix; bit < network.length * 8; bit++) {
            network[bit >> 3] &= (byte) ~(0x80 >>> (bit & 7));
        }
    }

    /**
     * Parses {@code address/prefix} or a bare address (a single host). Throws
     * {@link IllegalArgumentException} with a message naming the text.
     */
    public static CidrBlock parse(String text) {
        String t = text.trim();
        int slash = t.indexOf('/');
        String addressText = slash < 0 ? t : t.substring(0, slash);
        byte[] address;
        boolean mapped = false;
        if (addressText.indexOf(':') >= 0) {
            address = parseIpv6(addressText, t);
            if (address.length == 4) mapped = true;
        } else {
            address = parseIpv4(addressText);
            if (address == null) throw new IllegalArgumentException("\"" + t + "\" is not an IP address or CIDR block");
        }
        int max = mapped ? 128 : address.length * 8;
        int prefix = max;
        if (slash >= 0) {
            String p = t.substring(slash + 1);
            if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(c -> c >= '0' && c <= '9')) {
                throw new IllegalArgumentException("\"" + t + "\" has no valid prefix length after '/'");
            }
            prefix = Integer.parseInt(p);
            if (prefix > max) {
                throw new IllegalArgumentException("\"" + t + "\" has a prefix length above " + max);
            }
        }
        if (mapped) {
            if (prefix < 96) {
                throw new IllegalArgumentException("\"" + t + "\" covers more than the IPv4-mapped range (prefix below 96)");
            }
            prefix -= 96;
        }
        return new CidrBlock(address, prefix);
    }

    /** Strict dotted quad: four decimal numbers 0..255; null if {@code s} is not one. */
    static byte[] parseIpv4(String s) {
        String[] parts = s.split("\\.", -1);
        if (parts.length != 4) return null;
        byte[] b = new byte[4];
        for (int i = 0; i < 4; i++) {
            String p = parts[i];
            if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(c -> c >= '0' && c <= '9')) return null;
            int v = Integer.parseInt(p);
            if (v > 255) return null;
            b[i] = (byte) v;
        }
        return b;
    }

    /** 16 bytes, or 4 for an IPv4-mapped address. Only literals: a ':' keeps the JDK from resolving. */
    private static byte[] parseIpv6(String s, String whole) {
        if (s.indexOf('%') >= 0 || s.startsWith("[")
                || !s.chars().allMatch(c -> c == ':' || c == '.' || Character.digit(c, 16) >= 0)) {
            throw new IllegalArgumentException("\"" + whole + "\" is not an IP address or CIDR block");
        }
        try {
            InetAddress a = InetAddress.getByName(s);
            return a.getAddress(); // Inet4Address for ::ffff:a.b.c.d
        } catch (UnknownHostException | RuntimeException e) {
            throw new IllegalArgumentException("\"" + whole + "\" is not an IP address or CIDR block");
        }
    }

    /** True if {@code address} is in this block; IPv4-mapped IPv6 addresses count as IPv4. Null: false. */
    public boolean contains(InetAddress address) {
        if (address == null) return false;
        byte[] a = normalize(address.getAddress());
        if (a.length != network.length) return false;
        int full = prefix >> 3;
        for (int i = 0; i < full; i++) {
            if (a[i] != network[i]) return false;
        }
        int rest = prefix & 7;
        if (rest == 0) return true;
        int mask = (0xff << (8 - rest)) & 0xff;
        return (a[full] & mask) == (network[full] & mask);
    }

    /** {@code ::ffff:a.b.c.d} -> {@code a.b.c.d}; anything else unchanged. */
    static byte[] normalize(byte[] a) {
        if (a.length != 16) return a;
        for (int i = 0; i < 10; i++) {
            if (a[i] != 0) return a;
        }
        if (a[10] != (byte) 0xff || a[11] != (byte) 0xff) return a;
        return Arrays.copyOfRange(a, 12, 16);
    }

    public boolean isIpv4() {
        return network.length == 4;
    }

    public int prefixLength() {
        return prefix;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CidrBlock && ((CidrBlock) o).prefix == prefix && Arrays.equals(((CidrBlock) o).network, network);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(network) * 31 + prefix;
    }

    /** Canonical form: {@code 10.0.0.0/8}, {@code ::1/128}. */
    @Override
    public String toString() {
        try {
            InetAddress a = InetAddress.getByAddress(network);
            String host = a instanceof Inet6Address ? a.getHostAddress() : ((Inet4Address) a).getHostAddress();
            if (a instanceof Inet6Address) host = compressIpv6(host);
            return host + '/' + prefix;
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    /** The JDK prints {@code 0:0:0:0:0:0:0:1}; print {@code ::1} (longest zero run compressed). */
    static String compressIpv6(String full) {
        String[] groups = full.split(":");
        int bestStart = -1, bestLen = 0;
        for (int i = 0; i < groups.length; ) {
            if (groups[i].equals("0")) {
                int j = i;
                while (j < groups.length && groups[j].equals("0")) j++;
                if (j - i > bestLen && j - i > 1) {
                    bestStart = i;
                    bestLen = j - i;
                }
                i = j;
            } else {
                i++;
            }
        }
        if (bestStart < 0) return full;
        String head = String.join(":", Arrays.copyOfRange(groups, 0, bestStart));
        String tail = String.join(":", Arrays.copyOfRange(groups, bestStart + bestLen, groups.length));
        return head + "::" + tail;
    }
}
