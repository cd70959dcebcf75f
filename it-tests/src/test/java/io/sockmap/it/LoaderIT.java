package io.sockmap.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import io.sockmap.kernel.Bpf;
import io.sockmap.kernel.LibC;
import io.sockmap.loader.BpfCollection;
import io.sockmap.loader.BpfMap;
import io.sockmap.loader.BpfObjectSpec;
import io.sockmap.loader.BpfSupport;
import io.sockmap.loader.LoaderException;
import io.sockmap.loader.MappedRegion;
import io.sockmap.loader.ProgramSpec;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The loader against the real kernel: needs Linux 5.13+ (BPF_SK_SKB_VERDICT) and CAP_BPF +
 * CAP_NET_ADMIN (root). Skipped on an older kernel; on a new enough kernel an unavailable
 * bpf() fails the test, so a broken setup cannot pass as a skip.
 */
class LoaderIT {
    private static final int SLOT = 0;
    // struct sm_dir offsets (include/sockmap/splice_abi.h)
    private static final int DIR_SIZE = 96;
    private static final int PEER_COOKIE = 0;
    private static final int MODE = 8;
    private static final int REDIRECT_LIMIT = 24;
    private static final int REDIRECTED_BYTES = 32;
    private static final int PASSED_BYTES = 40;
    private static final int REDIRECTED_SKBS = 48;
    private static final int REDIRECT_ERRORS = 56;
    private static final int OVERLAP_BYTES = 72;
    private static final int GUARD_ERRORS = 80;
    private static final int SM_MODE_ARMED = 1;

    @BeforeAll
    static void kernelSupportsBpfSplicing() {
        Assumptions.assumeTrue(kernelAtLeast(5, 13), "needs Linux 5.13+ for BPF_SK_SKB_VERDICT, have " + System.getProperty("os.version"));
        BpfSupport.Availability availability = BpfSupport.probe();
        assertTrue(availability.available(), "Linux " + System.getProperty("os.version") + " should splice: " + availability.reason());
    }

    @Test
    void splicesBytesFromOneConnectionIntoAnother() throws Exception {
        long bpfFdsBefore = bpfFds();
        byte[] payload = new byte[256 * 1024];
        new Random(42).nextBytes(payload);

        try (BpfCollection splice = BpfSupport.loadSplice(64);
             MappedRegion dirs = splice.map(BpfSupport.DIRS).mmap();
             ServerSocketChannel listener = ServerSocketChannel.open()) {
            assertEquals(64, splice.map(BpfSupport.SOURCES).spec().maxEntries());
            assertTrue(dirs.length() >= 64L * DIR_SIZE && dirs.length() % LibC.pageSize() == 0, "mmap length " + dirs.length());
            listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            try (SocketChannel client1 = SocketChannel.open(listener.getLocalAddress());
                 SocketChannel server1 = listener.accept();
                 SocketChannel client2 = SocketChannel.open(listener.getLocalAddress());
                 SocketChannel server2 = listener.accept()) {
                int source = fd(server1);
                int target = fd(server2);
                long sourceCookie = cookie(source);

                // Direction server1 -> server2 armed, through the mmap.
                Pointer dir = armedDir(dirs, cookie(target));
                assertMmapIsTheMap(splice.map(BpfSupport.DIRS), dir);

                insertDirection(splice, source, target);
                assertEquals(SLOT, lookupLongInt(splice.map(BpfSupport.SLOTS), sourceCookie));

                // client1 -> server1 --(verdict: redirect, egress)--> server2 -> client2
                write(client1, payload);
                byte[] received = read(client2, payload.length, 10_000);
                assertArrayEquals(payload, received, "bytes arrive at client2 unchanged and in order");
                assertEquals(payload.length, dir.getLong(REDIRECTED_BYTES), "redirected_bytes");
                assertTrue(dir.getLong(REDIRECTED_SKBS) >= 1, "redirected_skbs");
                assertEquals(0, dir.getLong(PASSED_BYTES), "passed_bytes");
                assertEquals(0, dir.getLong(REDIRECT_ERRORS), "redirect_errors");
                server1.configureBlocking(false);
                assertEquals(0, server1.read(ByteBuffer.allocate(1)), "nothing reached the source socket's own queue");

                assertTrue(splice.map(BpfSupport.SLOTS).deleteLong(sourceCookie));
                assertTrue(!splice.map(BpfSupport.SLOTS).deleteLong(sourceCookie), "second delete: ENOENT -> false");
            }
        }
        assertEquals(bpfFdsBefore, bpfFds(), "every map and program fd closed");
    }

    /**
     * KERNEL.md trap 4, the sequence guard's deterministic case: userspace read the head of a
     * queued skb, then the socket is inserted and kicked. The verdict path hands over the whole
     * skb; the guard must remove the bytes already read, so the peer gets each byte once.
     */
    @Test
    void sequenceGuardRemovesBytesUserspaceAlreadyRead() throws Exception {
        byte[] payload = new byte[192 * 1024];
        new Random(7).nextBytes(payload);
        int readFirst = 1000;
        try (BpfCollection splice = BpfSupport.loadSplice(64);
             MappedRegion dirs = splice.map(BpfSupport.DIRS).mmap();
             ServerSocketChannel listener = ServerSocketChannel.open()) {
            assertTrue(splice.hasProgram(BpfSupport.VERDICT_GUARDED),
                    "the guarded verdict loads as root on this kernel: " + splice.skipped());
            listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            try (SocketChannel client1 = SocketChannel.open(listener.getLocalAddress());
                 SocketChannel server1 = listener.accept();
                 SocketChannel client2 = SocketChannel.open(listener.getLocalAddress());
                 SocketChannel server2 = listener.accept()) {
                write(client1, java.util.Arrays.copyOf(payload, 64 * 1024));
                byte[] head = read(server1, readFirst, 10_000); // part of the first skb only
                assertArrayEquals(java.util.Arrays.copyOf(payload, readFirst), head);

                int source = fd(server1);
                int target = fd(server2);
                long sourceCookie = cookie(source);
                Pointer dir = armedDir(dirs, cookie(target));
                insertDirection(splice, source, target);
                LibC.setsockoptInt(source, LibC.SOL_SOCKET, LibC.SO_RCVLOWAT, 1, "SO_RCVLOWAT"); // trap 8: run the queued bytes

                write(client1, java.util.Arrays.copyOfRange(payload, 64 * 1024, payload.length));
                int expected = payload.length - readFirst;
                byte[] received = read(client2, expected, 10_000);
                assertArrayEquals(java.util.Arrays.copyOfRange(payload, readFirst, payload.length), received,
                        "every byte after the ones read, once, in order");
                client2.configureBlocking(false);
                Thread.sleep(200);
                assertEquals(0, client2.read(ByteBuffer.allocate(1)), "nothing more: the read head was not sent again");
                assertEquals(readFirst, dir.getLong(OVERLAP_BYTES), "overlap_bytes: the head userspace had read");
                assertEquals(expected, dir.getLong(REDIRECTED_BYTES), "redirected_bytes count what was sent");
                assertEquals(0, dir.getLong(GUARD_ERRORS), "guard_errors");
                assertTrue(splice.map(BpfSupport.SLOTS).deleteLong(sourceCookie));
            }
        }
    }

    @Test
    void rejectedProgramReportsTheVerifierLogAndClosesItsMaps() throws Exception {
        long bpfFdsBefore = bpfFds();
        byte[] elf = spliceObject();
        BpfObjectSpec good = BpfObjectSpec.parse(elf);
        // Make the first 32-bit load (skb->len) read far outside struct __sk_buff.
        byte[] code = good.program(BpfSupport.VERDICT).instructions();
        int codeAt = indexOf(elf, code);
        int load = -1;
        for (int i = 0; i < code.length; i += ProgramSpec.INSN_SIZE) {
            if ((code[i] & 0xff) == 0x61) {
                load = i;
                break;
            }
        }
        assertTrue(codeAt >= 0 && load >= 0, "found the program and its first ctx load in splice.o");
        elf[codeAt + load + 2] = (byte) 0xf0;
        elf[codeAt + load + 3] = (byte) 0x0f; // off = 0x0ff0

        LoaderException e = assertThrows(LoaderException.class, () -> BpfCollection.load(BpfObjectSpec.parse(elf), null));
        assertTrue(e.getMessage().startsWith("load program sm_verdict: EACCES (verifier: "), e.getMessage());
        assertNotNull(e.verifierLog(), "whole verifier log kept");
        assertTrue(e.verifierLog().contains("processed") || e.verifierLog().contains("invalid"), e.verifierLog());
        assertEquals(bpfFdsBefore, bpfFds(), "maps created before the failed load are closed");
    }

    /** An optional program the kernel refuses is left out, with the reason, and the rest still loads. */
    @Test
    void refusedOptionalProgramIsSkipped() throws Exception {
        long bpfFdsBefore = bpfFds();
        byte[] elf = spliceObject();
        byte[] code = BpfObjectSpec.parse(elf).program(BpfSupport.VERDICT_GUARDED).instructions();
        int codeAt = indexOf(elf, code);
        int load = -1;
        for (int i = 0; i < code.length && load < 0; i += ProgramSpec.INSN_SIZE) {
            if ((code[i] & 0xff) == 0x61) load = i; // the first 32-bit load: skb->len
        }
        assertTrue(codeAt >= 0 && load >= 0, "found sm_verdict_guarded and its first ctx load");
        elf[codeAt + load + 2] = (byte) 0xf0;
        elf[codeAt + load + 3] = (byte) 0x0f; // off = 0x0ff0: outside struct __sk_buff
        try (BpfCollection c = BpfCollection.load(BpfObjectSpec.parse(elf), null, java.util.Set.of(BpfSupport.VERDICT_GUARDED))) {
            assertTrue(c.hasProgram(BpfSupport.VERDICT));
            assertTrue(!c.hasProgram(BpfSupport.VERDICT_GUARDED));
            assertTrue(c.skipped().get(BpfSupport.VERDICT_GUARDED).startsWith("load program sm_verdict_guarded: EACCES"),
                    c.skipped().toString());
        }
        assertEquals(bpfFdsBefore, bpfFds());
    }

    @Test
    void closeIsIdempotent() throws Exception {
        long bpfFdsBefore = bpfFds();
        BpfCollection splice = BpfSupport.loadSplice(8);
        MappedRegion dirs = splice.map(BpfSupport.DIRS).mmap();
        dirs.close();
        splice.close();
        splice.close();
        assertEquals(bpfFdsBefore, bpfFds());
        assertThrows(IOException.class, () -> splice.map(BpfSupport.SLOTS).deleteLong(1));
    }

    // ---- helpers ----

    private static long cookie(int fd) throws Exception {
        return LibC.getsockoptLong(fd, LibC.SOL_SOCKET, LibC.SO_COOKIE, "SO_COOKIE");
    }

    /** The record of {@link #SLOT}, zeroed, then armed toward {@code targetCookie} with no limit, through the mmap. */
    private static Pointer armedDir(MappedRegion dirs, long targetCookie) {
        Pointer dir = dirs.pointer().share((long) SLOT * DIR_SIZE, DIR_SIZE);
        dir.setMemory(0, DIR_SIZE, (byte) 0);
        dir.setLong(PEER_COOKIE, targetCookie);
        dir.setInt(MODE, SM_MODE_ARMED);
        dir.setLong(REDIRECT_LIMIT, Long.MAX_VALUE);
        return dir;
    }

    /** {@code source} into sm_slots (at {@link #SLOT}) and sm_sources, {@code target} into sm_targets. */
    private static void insertDirection(BpfCollection splice, int source, int target) throws Exception {
        splice.map(BpfSupport.SLOTS).updateLongInt(cookie(source), SLOT, Bpf.BPF_ANY);
        splice.map(BpfSupport.TARGETS).updateLongInt(cookie(target), target, Bpf.BPF_NOEXIST);
        splice.map(BpfSupport.SOURCES).updateLongInt(cookie(source), source, Bpf.BPF_NOEXIST);
    }

    private static void assertMmapIsTheMap(BpfMap dirsMap, Pointer dir) throws Exception {
        try (Memory key = new Memory(4); Memory value = new Memory(DIR_SIZE)) {
            key.setInt(0, SLOT);
            assertTrue(dirsMap.lookup(key, value));
            assertArrayEquals(dir.getByteArray(0, DIR_SIZE), value.getByteArray(0, DIR_SIZE),
                    "BPF_MAP_LOOKUP_ELEM sees what was written through the mmap");
        }
    }

    private static int lookupLongInt(BpfMap map, long key) throws Exception {
        try (Memory k = new Memory(8); Memory v = new Memory(4)) {
            k.setLong(0, key);
            assertTrue(map.lookup(k, v), "key " + key + " in " + map.name());
            return v.getInt(0);
        }
    }

    private static void write(SocketChannel ch, byte[] bytes) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(bytes);
        while (buf.hasRemaining()) ch.write(buf);
    }

    private static byte[] read(SocketChannel ch, int length, long timeoutMs) throws Exception {
        ch.configureBlocking(false);
        ByteBuffer buf = ByteBuffer.allocate(length);
        long deadline = System.nanoTime() + timeoutMs * 1_000_000;
        while (buf.hasRemaining()) {
            int n = ch.read(buf);
            if (n < 0) throw new IOException("EOF after " + buf.position() + " of " + length + " bytes");
            if (n == 0) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("timed out: " + buf.position() + " of " + length + " bytes arrived");
                }
                Thread.sleep(1);
            }
        }
        return buf.array();
    }

    /** The fd of a JDK socket channel (needs --add-opens java.base/sun.nio.ch). */
    private static int fd(SocketChannel ch) throws Exception {
        Method m = ch.getClass().getDeclaredMethod("getFDVal");
        m.setAccessible(true);
        return (int) m.invoke(ch);
    }

    /** Open fds of this process that are BPF maps or programs. */
    private static long bpfFds() throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.filter(p -> {
                try {
                    return Files.readSymbolicLink(p).toString().startsWith("anon_inode:bpf");
                } catch (IOException e) {
                    return false; // closed while listing
                }
            }).count();
        }
    }

    private static byte[] spliceObject() throws IOException {
        try (InputStream in = BpfObjectSpec.class.getResourceAsStream(BpfObjectSpec.SPLICE_RESOURCE)) {
            assertNotNull(in, BpfObjectSpec.SPLICE_RESOURCE);
            return in.readAllBytes();
        }
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) continue outer;
            }
            return i;
        }
        return -1;
    }

    private static boolean kernelAtLeast(int major, int minor) {
        String[] v = System.getProperty("os.version", "0.0").split("[.-]");
        try {
            int ma = Integer.parseInt(v[0]);
            int mi = v.length > 1 ? Integer.parseInt(v[1]) : 0;
            return ma > major || ma == major && mi >= minor;
        } catch (NumberFormatException e) {
            return false;
        }
    }
}
