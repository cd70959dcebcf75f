/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * The few kernel uapi types and constants splice.c uses, written here so the program builds with
 * -nostdinc and no system or libbpf headers. Values and layouts follow include/uapi/linux/bpf.h.
 */
#ifndef SOCKMAP_BPF_TYPES_H
#define SOCKMAP_BPF_TYPES_H

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef signed int __s32;
typedef signed long long __s64;

_Static_assert(sizeof(__u32) == 4 && sizeof(__u64) == 8, "BPF target type sizes");

/* enum bpf_map_type (values used here) */
#define BPF_MAP_TYPE_HASH 1
#define BPF_MAP_TYPE_ARRAY 2
#define BPF_MAP_TYPE_SOCKHASH 18

/* BPF_MAP_CREATE map_flags */
#define BPF_F_MMAPABLE (1U << 10)

/* enum sk_action: sk_skb verdicts */
#define SK_DROP 0
#define SK_PASS 1

/* struct bpf_sock: only ever passed on to helpers here, never read */
struct bpf_sock;

/*
 * struct __sk_buff with only the fields the program reads. Context accesses are checked by
 * offset, so only the offsets of declared fields must match the uapi: len at 0, sk at 168.
 */
struct __sk_buff {
    __u32 len;
    __u32 unused_[41];
    struct bpf_sock *sk; /* __bpf_md_ptr: 8 bytes, 8-aligned */
};

_Static_assert(__builtin_offsetof(struct __sk_buff, sk) == 168, "__sk_buff.sk at 168");

#endif
