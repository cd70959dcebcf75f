package io.sockmap.loader;

import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The running kernel's type information ({@code /sys/kernel/btf/vmlinux}), read for the two things
 * the loader needs from it: the BTF id of a kernel function a program calls (a kfunc) and the byte
 * offset of a field in a kernel struct. Only the BTF container format is interpreted (header, type
 * records, string table, as documented in the kernel's Documentation/bpf/btf.rst); nothing else.
 */
public final class KernelBtf {
    /** Where the kernel exposes its own BTF (CONFIG_DEBUG_INFO_BTF). */
    public static final Path VMLINUX = Path.of("/sys/kernel/btf/vmlinux");

    static final int MAGIC = 0xeB9F;
    static final int KIND_INT = 1, KIND_PTR = 2, KIND_ARRAY = 3, KIND_STRUCT = 4, KIND_UNION = 5, KIND_ENUM = 6,
            KIND_FWD = 7, KIND_TYPEDEF = 8, KIND_VOLATILE = 9, KIND_CONST = 10, KIND_RESTRICT = 11, KIND_FUNC = 12,
            KIND_FUNC_PROTO = 13, KIND_VAR = 14, KIND_DATASEC = 15, KIND_FLOAT = 16, KIND_DECL_TAG = 17,
            KIND_TYPE_TAG = 18, KIND_ENUM64 = 19;
    private static final int TYPE_HEADER = 12;

    private final ByteBuffer buf;
    private final int strStart;
    private final int strLen;
    /** Byte position of each type record in {@link #buf}; index = type id (0 = void, unused). */
    private final int[] typeAt;

    private KernelBtf(byte[] bytes) throws LoaderException {
        if (bytes.length < 24) throw new LoaderException("BTF: " + bytes.length + " bytes is too short for a header");
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if ((b.getShort(0) & 0xffff) != MAGIC) {
            b.order(ByteOrder.BIG_ENDIAN);
            if ((b.getShort(0) & 0xffff) != MAGIC) throw new LoaderException("BTF: bad magic");
        }
        this.buf = b;
        int hdrLen = b.getInt(4);
        int typeOff = b.getInt(8), typeLen = b.getInt(12), strOff = b.getInt(16);
        this.strLen = b.getInt(20);
        int typeStart = hdrLen + typeOff;
        this.strStart = hdrLen + strOff;
        if (hdrLen < 24 || typeStart < 0 || typeLen < 0 || (long) typeStart + typeLen > bytes.length
                || strStart < 0 || strLen < 0 || (long) strStart + strLen > bytes.length) {
            throw new LoaderException("BTF: sections outside the data");
        }
        int[] at = new int[1 << 16];
        int n = 1;
        int pos = typeStart;
        int end = typeStart + typeLen;
        while (pos < end) {
            if (n == at.length) at = java.util.Arrays.copyOf(at, at.length * 2);
            at[n] = pos;
            int info = b.getInt(pos + 4);
            int kind = (info >>> 24) & 0x1f;
            int vlen = info & 0xffff;
            pos += TYPE_HEADER + extraSize(kind, vlen, n);
            n++;
        }
        if (pos != end) throw new LoaderException("BTF: type records overrun their section");
        this.typeAt = java.util.Arrays.copyOf(at, n);
    }

    /** Reads {@link #VMLINUX}; fails with a reason when this kernel does not expose BTF. */
    public static KernelBtf vmlinux() throws LoaderException {
        byte[] bytes;
        try {
            // not Files.readAllBytes: a channel read of 5 MB into a heap array goes through a
            // temporary direct buffer of that size, which the JDK then keeps cached on the reading
            // thread (the application's main thread, at premain) for as long as the thread lives
            try (InputStream in = new FileInputStream(VMLINUX.toFile())) {
                bytes = in.readAllBytes();
            }
        } catch (IOException | SecurityException e) {
            throw new LoaderException("kernel BTF not readable (" + VMLINUX + ": " + e.getMessage() + ")", e);
        }
        return parse(bytes);
    }

    public static KernelBtf parse(byte[] bytes) throws LoaderException {
        try {
            return new KernelBtf(bytes);
        } catch (IndexOutOfBoundsException e) {
            throw new LoaderException("BTF: truncated type or string data", e);
        }
    }

    /** BTF id of the kernel function {@code name} (kind FUNC). */
    public int funcId(String name) throws LoaderException {
        int id = firstNamed(KIND_FUNC, name);
        if (id < 0) throw new LoaderException("kernel function " + name + " not in this kernel's BTF");
        return id;
    }

    /**
     * Byte offset of {@code member} in {@code struct name}, looking through anonymous struct and
     * union members (as C does). Bitfields are refused: the loader only patches whole-field loads.
     */
    public int memberOffset(String struct, String member) throws LoaderException {
        int id = struct.isEmpty() ? -1 : firstNamed(KIND_STRUCT, struct);
        if (id < 0) throw new LoaderException("struct " + struct + " not in this kernel's BTF");
        Integer bits = memberBits(id, member, 0);
        if (bits == null) throw new LoaderException("struct " + struct + " has no member " + member + " in this kernel");
        if (bits % 8 != 0) throw new LoaderException(struct + "." + member + " is a bitfield");
        return bits / 8;
    }

    private Integer memberBits(int structId, String member, int base) {
        int pos = typeAt[structId];
        int info = buf.getInt(pos + 4);
        boolean bitfieldEncoding = (info >>> 31) != 0;
        int vlen = info & 0xffff;
        for (int i = 0; i < vlen; i++) {
            int m = pos + TYPE_HEADER + 12 * i;
            String name = string(buf.getInt(m));
            int type = buf.getInt(m + 4);
            int offset = buf.getInt(m + 8);
            int bitOffset = bitfieldEncoding ? offset & 0xffffff : offset;
            if (name.equals(member)) return base + bitOffset;
            if (name.isEmpty()) {
                int inner = resolve(type);
                int kind = kind(inner);
                if (kind == KIND_STRUCT || kind == KIND_UNION) {
                    Integer found = memberBits(inner, member, base + bitOffset);
                    if (found != null) return found;
                }
            }
        }
        return null;
    }

    /**
     * The lowest type id of {@code kind} named {@code name}, or -1. Names are compared in place in
     * the string table: the loader asks for a few names, so no map of the kernel's ~100,000 names
     * is built (it made loading allocate megabytes of strings that a young collection then copied).
     */
    private int firstNamed(int kind, String name) {
        byte[] wanted = name.getBytes(StandardCharsets.US_ASCII);
        for (int id = 1; id < typeAt.length; id++) {
            if (kind(id) == kind && nameIs(buf.getInt(typeAt[id]), wanted)) return id;
        }
        return -1;
    }

    /** Whether the string at {@code off} in the string table is exactly {@code wanted}. */
    private boolean nameIs(int off, byte[] wanted) {
        if (off < 0 || (long) off + wanted.length >= strLen) return false;
        int start = strStart + off;
        for (int i = 0; i < wanted.length; i++) {
            if (buf.get(start + i) != wanted[i]) return false;
        }
        return buf.get(start + wanted.length) == 0;
    }

    /** Follows typedef, const, volatile, restrict and type tags to the underlying type. */
    private int resolve(int id) {
        for (int hops = 0; hops < 32 && id > 0 && id < typeAt.length; hops++) {
            int kind = kind(id);
            if (kind != KIND_TYPEDEF && kind != KIND_CONST && kind != KIND_VOLATILE && kind != KIND_RESTRICT
                    && kind != KIND_TYPE_TAG) {
                return id;
            }
            id = buf.getInt(typeAt[id] + 8);
        }
        return id;
    }

    private int kind(int id) {
        if (id <= 0 || id >= typeAt.length) return 0;
        return (buf.getInt(typeAt[id] + 4) >>> 24) & 0x1f;
    }

    private static int extraSize(int kind, int vlen, int id) throws LoaderException {
        switch (kind) {
            case KIND_INT: case KIND_VAR: case KIND_DECL_TAG: return 4;
            case KIND_PTR: case KIND_FWD: case KIND_TYPEDEF: case KIND_VOLATILE: case KIND_CONST: case KIND_RESTRICT:
            case KIND_FUNC: case KIND_FLOAT: case KIND_TYPE_TAG: return 0;
            case KIND_ARRAY: return 12;
            case KIND_STRUCT: case KIND_UNION: case KIND_DATASEC: case KIND_ENUM64: return 12 * vlen;
            case KIND_ENUM: case KIND_FUNC_PROTO: return 8 * vlen;
            default: throw new LoaderException("BTF: type " + id + " has unknown kind " + kind);
        }
    }

    private String string(int off) {
        if (off < 0 || off >= strLen) return "";
        int start = strStart + off;
        int end = start;
        int limit = strStart + strLen;
        while (end < limit && buf.get(end) != 0) end++;
        return new String(buf.array(), start, end - start, StandardCharsets.US_ASCII);
    }
}
