/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * References into the running kernel that the Java loader resolves at load time from the kernel's
 * BTF (/sys/kernel/btf/vmlinux), so the object carries no kernel layout of its own:
 *  - kernel functions (kfuncs), declared extern __ksym: the loader patches each call with the
 *    function's BTF id;
 *  - kernel struct fields, read with SM_LOAD_FIELD_U32(ptr, SM_FIELD_...): the load is emitted with
 *    a placeholder offset that the loader replaces with the field's offset in this kernel
 *    (io.sockmap.loader.KernelRefs.FIELDS holds the same numbers).
 * A program using these needs a kernel with BTF, and CAP_PERFMON (or CAP_SYS_ADMIN) to read kernel
 * structs; the loader treats such a program as optional.
 */
#ifndef SOCKMAP_KERNEL_REFS_H
#define SOCKMAP_KERNEL_REFS_H

#include "bpf_types.h"

#define __ksym __attribute__((section(".ksyms")))

/* kfunc (kernel/bpf/helpers.c): the kernel's own context object, here the struct sk_buff */
extern void *bpf_cast_to_kern_ctx(void *ctx) __ksym;

/* Placeholder offsets (decimal: they are pasted into inline assembly) */
#define SM_FIELD_SK_BUFF_CB 32257         /* offsetof(struct sk_buff, cb); TCP_SKB_CB(skb)->seq is its first __u32 */
#define SM_FIELD_TCP_SOCK_COPIED_SEQ 32258 /* offsetof(struct tcp_sock, copied_seq) */

#define SM_STRINGIFY_(x) #x
#define SM_STRINGIFY(x) SM_STRINGIFY_(x)

/* One 32-bit load of a kernel field, at the placeholder offset the loader patches. */
#define SM_LOAD_FIELD_U32(ptr, field) ({ \
    __u32 v_; \
    asm volatile("%0 = *(u32 *)(%1 + " SM_STRINGIFY(field) ")" : "=r"(v_) : "r"(ptr)); \
    v_; })

#endif
