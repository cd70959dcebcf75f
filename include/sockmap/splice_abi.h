/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * The contract between splice.c and the Java engine: the per-direction record in the mmapped
 * sm_dirs array and its modes. Offsets are part of the contract; Java reads and writes them by
 * number, so any change here is a change on both sides. The maps themselves (names, key and
 * value types) are defined and documented in bpf/splice.c.
 */
#ifndef SOCKMAP_SPLICE_ABI_H
#define SOCKMAP_SPLICE_ABI_H

#include "bpf_types.h"

/* sm_dir.mode */
#define SM_MODE_PAUSED 0 /* always pass: bytes go to the socket's own receive queue */
#define SM_MODE_ARMED 1  /* redirect to peer_cookie while the conditions in splice.c hold */

/* Entries per map when the loader does not override max_entries. */
#define SM_DEFAULT_MAX_ENTRIES 1024

/*
 * One per socket that is the source of a spliced direction (value of sm_dirs, 96 bytes, little
 * endian). Userspace writes the first four fields (and zeroes the record before the socket is
 * inserted); the program only adds to the counters and owns the sequence guard's fields.
 */
struct sm_dir {
    __u64 peer_cookie;      /* 0: userspace: cookie of the target socket (key into sm_targets) */
    __u32 mode;             /* 8: userspace: SM_MODE_* */
    __u32 reserved;         /* 12 */
    __u64 forwarded_bytes;  /* 16: userspace: bytes it forwarded of those the program passed */
    __u64 redirect_limit;   /* 24: userspace: redirect only while redirected_bytes + len <= this */
    __u64 redirected_bytes; /* 32: program, atomic add */
    __u64 passed_bytes;     /* 40: program, atomic add */
    __u64 redirected_skbs;  /* 48: program, atomic add */
    __u64 redirect_errors;  /* 56: program, atomic add: bpf_sk_redirect_hash failed, skb passed */
    /* The sequence guard (sm_verdict_guarded only): */
    __u32 next_seq;         /* 64: program: TCP sequence number of the next byte not yet delivered */
    __u32 seq_known;        /* 68: program: next_seq is set (0 after userspace zeroes the record) */
    __u64 overlap_bytes;    /* 72: program, atomic add: bytes the kernel offered twice, removed */
    __u64 guard_errors;     /* 80: program, atomic add: an overlap could not be removed; skb dropped,
                             * userspace must abort the pair */
    __u64 reserved2;        /* 88 */
};

_Static_assert(sizeof(struct sm_dir) == 96, "struct sm_dir is 96 bytes");
_Static_assert(__builtin_offsetof(struct sm_dir, peer_cookie) == 0, "peer_cookie at 0");
_Static_assert(__builtin_offsetof(struct sm_dir, mode) == 8, "mode at 8");
_Static_assert(__builtin_offsetof(struct sm_dir, forwarded_bytes) == 16, "forwarded_bytes at 16");
_Static_assert(__builtin_offsetof(struct sm_dir, redirect_limit) == 24, "redirect_limit at 24");
_Static_assert(__builtin_offsetof(struct sm_dir, redirected_bytes) == 32, "redirected_bytes at 32");
_Static_assert(__builtin_offsetof(struct sm_dir, passed_bytes) == 40, "passed_bytes at 40");
_Static_assert(__builtin_offsetof(struct sm_dir, redirected_skbs) == 48, "redirected_skbs at 48");
_Static_assert(__builtin_offsetof(struct sm_dir, redirect_errors) == 56, "redirect_errors at 56");
_Static_assert(__builtin_offsetof(struct sm_dir, next_seq) == 64, "next_seq at 64");
_Static_assert(__builtin_offsetof(struct sm_dir, overlap_bytes) == 72, "overlap_bytes at 72");
_Static_assert(__builtin_offsetof(struct sm_dir, guard_errors) == 80, "guard_errors at 80");

#endif
