package io.sockmap.kernel;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.nio.charset.StandardCharsets;

/**
 * The {@code bpf()} commands the loader uses, each encoding its part of {@code union bpf_attr} by
 * hand into zeroed native memory (offsets from include/uapi/linux/bpf.h) and going through
 * {@link LibC#bpf}. Failures are {@link KernelException}s naming the operation, e.g.
 * {@code "create map sm_sources: EPERM"}.
 *
 * <p>Every command passes {@link #ATTR_SIZE} bytes: kernels that know fewer fields accept the
 * extra bytes because they are zero, kernels that know more treat the missing ones as zero.
 */
public final class Bpf {
    // enum bpf_cmd
    public static final int BPF_MAP_CREATE = 0;
    public static final int BPF_MAP_LOOKUP_ELEM = 1;
    public static final int BPF_MAP_UPDATE_ELEM = 2;
    public static final int BPF_MAP_DELETE_ELEM = 3;
    public static final int BPF_MAP_GET_NEXT_KEY = 4;
    public static final int BPF_PROG_LOAD = 5;
    public static final int BPF_PROG_ATTACH = 8;
    public static final int BPF_PROG_DETACH = 9;

    // enum bpf_map_type
    public static final int BPF_MAP_TYPE_HASH = 1;
    public static final int BPF_MAP_TYPE_ARRAY = 2;
    public static final int BPF_MAP_TYPE_SOCKMAP = 15;
    public static final int BPF_MAP_TYPE_SOCKHASH = 18;

    // BPF_MAP_CREATE map_flags
    public static final int BPF_F_MMAPABLE = 1 << 10;

    // BPF_MAP_UPDATE_ELEM flags
    public static final long BPF_ANY = 0;
    public static final long BPF_NOEXIST = 1;
    public static final long BPF_EXIST = 2;

    // enum bpf_prog_type
    public static final int BPF_PROG_TYPE_SOCKET_FILTER = 1;
    public static final int BPF_PROG_TYPE_SK_SKB = 14;
    public static final int BPF_PROG_TYPE_SK_MSG = 16;

    // enum bpf_attach_type
    public static final int BPF_SK_SKB_STREAM_PARSER = 4;
    public static final int BPF_SK_SKB_STREAM_VERDICT = 5;
    public static final int BPF_SK_MSG_VERDICT = 7;
    public static final int BPF_SK_SKB_VERDICT = 38;

    /** {@code src_reg} of a {@code ld_imm64} whose {@code imm} is a map fd. */
    public static final int BPF_PSEUDO_MAP_FD = 1;
    /** {@code src_reg} of a {@code call} to a BPF function (not a helper). */
    public static final int BPF_PSEUDO_CALL = 1;
    /** Verifier log: {@code log_level} 1 = the instructions it walked and why it stopped. */
    public static final int LOG_LEVEL_VERIFIER = 1;
    /** {@code BPF_OBJ_NAME_LEN}: object names are at most 15 characters plus NUL. */
    public static final int OBJ_NAME_LEN = 16;

    /** Bytes of {@code union bpf_attr} passed to every command (covers PROG_LOAD's log_true_size). */
    static final int ATTR_SIZE = 144;

    // BPF_MAP_CREATE
    private static final int MAP_TYPE = 0;
    private static final int KEY_SIZE = 4;
    private static final int VALUE_SIZE = 8;
    private static final int MAX_ENTRIES = 12;
    private static final int MAP_FLAGS = 16;
    private static final int MAP_NAME = 28;
    // BPF_MAP_*_ELEM
    private static final int ELEM_MAP_FD = 0;
    private static final int ELEM_KEY = 8;
    private static final int ELEM_VALUE = 16;
    private static final int ELEM_FLAGS = 24;
    // BPF_PROG_LOAD
    private static final int PROG_TYPE = 0;
    private static final int INSN_CNT = 4;
    private static final int INSNS = 8;
    private static final int LICENSE = 16;
    private static final int LOG_LEVEL = 24;
    private static final int LOG_SIZE = 28;
    private static final int LOG_BUF = 32;
    private static final int PROG_NAME = 48;
    private static final int EXPECTED_ATTACH_TYPE = 68;
    private static final int LOG_TRUE_SIZE = 140;
    // BPF_PROG_ATTACH / DETACH
    private static final int TARGET_FD = 0;
    private static final int ATTACH_BPF_FD = 4;
    private static final int ATTACH_TYPE = 8;

    private Bpf() {}

    /** {@code BPF_MAP_CREATE}; returns the new map's fd. {@code name} is truncated to 15 characters. */
    public static int mapCreate(int type, int keySize, int valueSize, int maxEntries, int flags, String name)
            throws KernelException {
        try (Memory attr = attr()) {
            attr.setInt(MAP_TYPE, type);
            attr.setInt(KEY_SIZE, keySize);
            attr.setInt(VALUE_SIZE, valueSize);
            attr.setInt(MAX_ENTRIES, maxEntries);
            attr.setInt(MAP_FLAGS, flags);
            putName(attr, MAP_NAME, name);
            return LibC.bpf(BPF_MAP_CREATE, attr, ATTR_SIZE, "create map " + name);
        }
    }

    /** {@code BPF_MAP_UPDATE_ELEM} with {@code flags} {@link #BPF_ANY}, {@link #BPF_NOEXIST} or {@link #BPF_EXIST}. */
    public static void mapUpdate(int mapFd, Pointer key, Pointer value, long flags, String what) throws KernelException {
        try (Memory attr = elemAttr(mapFd, key, value, flags)) {
            LibC.bpf(BPF_MAP_UPDATE_ELEM, attr, ATTR_SIZE, what);
        }
    }

    /** {@code BPF_MAP_LOOKUP_ELEM} into {@code valueOut}; false when the key is absent ({@code ENOENT}). */
    public static boolean mapLookup(int mapFd, Pointer key, Pointer valueOut, String what) throws KernelException {
        try (Memory attr = elemAttr(mapFd, key, valueOut, 0)) {
            LibC.bpf(BPF_MAP_LOOKUP_ELEM, attr, ATTR_SIZE, what);
            return true;
        } catch (KernelException e) {
            if (e.errno() == Errno.ENOENT) return false;
            throw e;
        }
    }

    /** {@code BPF_MAP_DELETE_ELEM}; false when the key is absent ({@code ENOENT}). */
    public static boolean mapDelete(int mapFd, Pointer key, String what) throws KernelException {
        try (Memory attr = elemAttr(mapFd, key, null, 0)) {
            LibC.bpf(BPF_MAP_DELETE_ELEM, attr, ATTR_SIZE, what);
            return true;
        } catch (KernelException e) {
            if (e.errno() == Errno.ENOENT) return false;
            throw e;
        }
    }

    /**
     * {@code BPF_MAP_GET_NEXT_KEY}: the key after {@code key} ({@code null}: the first key) into
     * {@code nextKeyOut}; false after the last key ({@code ENOENT}). On a hash map a {@code key}
     * that was deleted meanwhile restarts the walk at the first key.
     */
    public static boolean mapGetNextKey(int mapFd, Pointer key, Pointer nextKeyOut, String what) throws KernelException {
        try (Memory attr = elemAttr(mapFd, key, nextKeyOut, 0)) {
            LibC.bpf(BPF_MAP_GET_NEXT_KEY, attr, ATTR_SIZE, what);
            return true;
        } catch (KernelException e) {
            if (e.errno() == Errno.ENOENT) return false;
            throw e;
        }
    }

    /**
     * {@code BPF_PROG_LOAD}; returns the program fd.
     *
     * @param insns       {@code insnCount} 8-byte instructions, already relocated
     * @param log         verifier log buffer, or null for no log ({@code logLevel} is then ignored)
     * @param trueLogSize if not null, {@code [0]} receives the log size the kernel needed (6.4+, else 0)
     */
    public static int progLoad(int type, Pointer insns, int insnCount, String license, String name,
                               int expectedAttachType, int logLevel, Memory log, int[] trueLogSize)
            throws KernelException {
        byte[] licenseBytes = license.getBytes(StandardCharsets.US_ASCII);
        try (Memory attr = attr(); Memory lic = new Memory(licenseBytes.length + 1)) {
            lic.write(0, licenseBytes, 0, licenseBytes.length);
            lic.setByte(licenseBytes.length, (byte) 0);
            attr.setInt(PROG_TYPE, type);
            attr.setInt(INSN_CNT, insnCount);
            attr.setLong(INSNS, Pointer.nativeValue(insns));
            attr.setLong(LICENSE, Pointer.nativeValue(lic));
            if (log != null) {
                log.setByte(0, (byte) 0);
                attr.setInt(LOG_LEVEL, logLevel);
                attr.setInt(LOG_SIZE, (int) Math.min(log.size(), Integer.MAX_VALUE));
                attr.setLong(LOG_BUF, Pointer.nativeValue(log));
            }
            putName(attr, PROG_NAME, name);
            attr.setInt(EXPECTED_ATTACH_TYPE, expectedAttachType);
            try {
                return LibC.bpf(BPF_PROG_LOAD, attr, ATTR_SIZE, "load program " + name);
            } finally {
                if (trueLogSize != null) trueLogSize[0] = attr.getInt(LOG_TRUE_SIZE);
            }
        }
    }

    /** {@code BPF_PROG_ATTACH}: attaches {@code progFd} to {@code targetFd} (for sk_skb: a sockmap/sockhash). */
    public static void progAttach(int targetFd, int progFd, int attachType, String what) throws KernelException {
        try (Memory attr = attr()) {
            attr.setInt(TARGET_FD, targetFd);
            attr.setInt(ATTACH_BPF_FD, progFd);
            attr.setInt(ATTACH_TYPE, attachType);
            LibC.bpf(BPF_PROG_ATTACH, attr, ATTR_SIZE, what);
        }
    }

    private static Memory attr() {
        Memory attr = new Memory(ATTR_SIZE);
        attr.clear();
        return attr;
    }

    private static Memory elemAttr(int mapFd, Pointer key, Pointer value, long flags) {
        Memory attr = attr();
        attr.setInt(ELEM_MAP_FD, mapFd);
        attr.setLong(ELEM_KEY, Pointer.nativeValue(key));
        attr.setLong(ELEM_VALUE, value == null ? 0 : Pointer.nativeValue(value));
        attr.setLong(ELEM_FLAGS, flags);
        return attr;
    }

    /** Writes {@code name} as a NUL-terminated object name: at most 15 of the characters the kernel accepts. */
    private static void putName(Memory attr, int offset, String name) {
        if (name == null) return;
        byte[] out = new byte[OBJ_NAME_LEN - 1];
        int n = 0;
        for (int i = 0; i < name.length() && n < out.length; i++) {
            char c = name.charAt(i);
            if (c < 128 && (Character.isLetterOrDigit(c) || c == '_' || c == '.')) out[n++] = (byte) c;
        }
        attr.write(offset, out, 0, n);
    }
}
