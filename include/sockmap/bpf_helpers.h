/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * Section macro, helper declarations by id (enum bpf_func_id in include/uapi/linux/bpf.h) and the
 * legacy map definition that io.sockmap.loader reads from the "maps" section.
 */
#ifndef SOCKMAP_BPF_HELPERS_H
#define SOCKMAP_BPF_HELPERS_H

#include "bpf_types.h"

#define SEC(name) __attribute__((section(name), used))
#define __always_inline inline __attribute__((always_inline))

/* A read the compiler must emit exactly once: fields userspace writes through the mmap. */
#define READ_ONCE(x) (*(volatile __typeof__(x) *)&(x))

/* BPF_FUNC_map_lookup_elem = 1 */
static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *) 1;
/* BPF_FUNC_get_socket_cookie = 46 (the skb variant: cookie of skb->sk) */
static __u64 (*bpf_get_socket_cookie)(void *ctx) = (void *) 46;
/* BPF_FUNC_skb_adjust_room = 50: for sk_skb only mode 0, flags 0, and |len_diff| <= 4095;
 * a negative len_diff removes bytes from the head of the data */
static long (*bpf_skb_adjust_room)(struct __sk_buff *skb, __s32 len_diff, __u32 mode, __u64 flags) = (void *) 50;
/* BPF_FUNC_skc_to_tcp_sock = 137: the socket as a struct tcp_sock (BTF pointer), or NULL */
static void *(*bpf_skc_to_tcp_sock)(void *sk) = (void *) 137;
/* BPF_FUNC_sk_redirect_hash = 72: flags 0 = transmit on the target, BPF_F_INGRESS = its receive queue */
static long (*bpf_sk_redirect_hash)(struct __sk_buff *skb, void *map, void *key, __u64 flags) = (void *) 72;

/*
 * One map: a global of this type in section "maps"; the symbol name is the map name. The loader
 * reads exactly these five little-endian __u32 fields (20 bytes) at the symbol's offset.
 */
struct sm_map_def {
    __u32 type;
    __u32 key_size;
    __u32 value_size;
    __u32 max_entries;
    __u32 map_flags;
};

_Static_assert(sizeof(struct sm_map_def) == 20, "struct sm_map_def is read by the Java loader");

#endif
