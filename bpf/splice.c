// SPDX-License-Identifier: (MIT OR GPL-2.0)
/*
 * sm_verdict: the sk_skb verdict program attached to sm_sources. For every skb received on a
 * source socket it either redirects the skb to the peer socket (transmitted there, flags 0) or
 * passes it to the socket's own receive queue, where userspace reads it. Userspace steers each
 * direction through its struct sm_dir (mmapped); the program never changes its own maps except
 * the counters, which it only adds to.
 */
#include "sockmap/bpf_helpers.h"
#include "sockmap/splice_abi.h"
#include "sockmap/kernel_refs.h"

/* Sources: key socket cookie, value fd on update. sm_verdict is attached to this map only. */
struct sm_map_def SEC("maps") sm_sources = {
    .type = BPF_MAP_TYPE_SOCKHASH,
    .key_size = sizeof(__u64),
    .value_size = sizeof(__u32),
    .max_entries = SM_DEFAULT_MAX_ENTRIES,
};

/* Redirect targets: key socket cookie, value fd on update. No program: receive path unchanged. */
struct sm_map_def SEC("maps") sm_targets = {
    .type = BPF_MAP_TYPE_SOCKHASH,
    .key_size = sizeof(__u64),
    .value_size = sizeof(__u32),
    .max_entries = SM_DEFAULT_MAX_ENTRIES,
};

/* Source socket cookie -> index of its struct sm_dir in sm_dirs. */
struct sm_map_def SEC("maps") sm_slots = {
    .type = BPF_MAP_TYPE_HASH,
    .key_size = sizeof(__u64),
    .value_size = sizeof(__u32),
    .max_entries = SM_DEFAULT_MAX_ENTRIES,
};

/* One struct sm_dir per source socket; mmapped by userspace (stable memory for the counters). */
struct sm_map_def SEC("maps") sm_dirs = {
    .type = BPF_MAP_TYPE_ARRAY,
    .key_size = sizeof(__u32),
    .value_size = sizeof(struct sm_dir),
    .max_entries = SM_DEFAULT_MAX_ENTRIES,
    .map_flags = BPF_F_MMAPABLE,
};

/*
 * The sequence guard. TCP may queue an skb whose head repeats bytes this socket already received
 * (a retransmission that partly overlaps: tcp_data_queue's "partial packet" case, also from the
 * out-of-order queue), and an skb userspace read part of before insertion starts before the
 * socket's copied_seq. recvmsg skips such bytes; the verdict path (tcp_read_skb) hands over the
 * whole skb, so without this guard the repeated bytes would be sent to the peer twice.
 * The guard remembers, per socket, the sequence number of the next byte not yet delivered
 * (initially the socket's copied_seq: where userspace stopped reading) and removes any head of an
 * skb before it. Returns the skb's length after trimming, 0 for an skb with nothing new, or -1 when
 * the overlap could not be removed (the skb must not be delivered; userspace aborts the pair).
 */
#define SM_TRIM_STEP 4095 /* bpf_skb_adjust_room's limit for sk_skb */
#define SM_TRIM_STEPS 128 /* up to 511 KiB of overlap in one skb */

static __always_inline long sm_guard(struct __sk_buff *skb, struct sm_dir *dir, __u32 len)
{
    void *kskb = bpf_cast_to_kern_ctx(skb);
    __u32 seq = SM_LOAD_FIELD_U32(kskb, SM_FIELD_SK_BUFF_CB);
    __u32 end = seq + len;
    if (!dir->seq_known) {
        struct bpf_sock *sk = skb->sk;
        void *tp = sk ? bpf_skc_to_tcp_sock(sk) : 0;
        if (!tp) {
            __sync_fetch_and_add(&dir->guard_errors, 1);
            return -1;
        }
        dir->next_seq = SM_LOAD_FIELD_U32(tp, SM_FIELD_TCP_SOCK_COPIED_SEQ);
        dir->seq_known = 1;
    }
    __s32 behind = (__s32)(dir->next_seq - seq);
    if (behind > 0) {
        if ((__u32)behind >= len) {
            __sync_fetch_and_add(&dir->overlap_bytes, len);
            return 0;
        }
        __u32 left = behind;
        for (int i = 0; i < SM_TRIM_STEPS && left > 0; i++) {
            __u32 step = left > SM_TRIM_STEP ? SM_TRIM_STEP : left;
            if (bpf_skb_adjust_room(skb, -(__s32)step, 0, 0) != 0)
                break;
            left -= step;
        }
        if (left > 0) {
            __sync_fetch_and_add(&dir->guard_errors, 1);
            return -1;
        }
        __sync_fetch_and_add(&dir->overlap_bytes, behind);
        len -= behind;
    }
    dir->next_seq = end;
    return len;
}

static __always_inline int sm_decide(struct __sk_buff *skb, int guarded)
{
    __u32 len = skb->len;
    /* A pure FIN arrives as an empty skb. Redirecting it breaks the peer's transmit path, and
     * passing it is no better when this socket's psock backlog is busy (it is also a redirect
     * target): the kworker meets a zero-length skb, reports EPIPE and stops transmitting.
     * The kernel recorded the FIN (RCV_SHUTDOWN) before this program ran, so dropping the empty
     * skb loses nothing: recv still returns 0 and EPOLLRDHUP still fires. */
    if (len == 0)
        return SK_DROP;

    __u64 cookie = bpf_get_socket_cookie(skb);
    __u32 *slot = bpf_map_lookup_elem(&sm_slots, &cookie);
    if (!slot)
        return SK_PASS;
    __u32 index = *slot;
    struct sm_dir *dir = bpf_map_lookup_elem(&sm_dirs, &index);
    if (!dir)
        return SK_PASS;

    if (guarded) {
        long fresh = sm_guard(skb, dir, len);
        if (fresh <= 0)
            return SK_DROP;
        len = fresh;
    }

    /* Redirect only when armed, when userspace has forwarded every byte passed so far (so no
     * kernel-sent byte overtakes a userspace one) and while under the in-flight limit. */
    if (READ_ONCE(dir->mode) == SM_MODE_ARMED &&
        READ_ONCE(dir->passed_bytes) == READ_ONCE(dir->forwarded_bytes) &&
        READ_ONCE(dir->redirected_bytes) + len <= READ_ONCE(dir->redirect_limit)) {
        __u64 peer = READ_ONCE(dir->peer_cookie);
        if (bpf_sk_redirect_hash(skb, &sm_targets, &peer, 0) == SK_PASS) {
            __sync_fetch_and_add(&dir->redirected_bytes, len);
            __sync_fetch_and_add(&dir->redirected_skbs, 1);
            return SK_PASS;
        }
        __sync_fetch_and_add(&dir->redirect_errors, 1);
    }
    __sync_fetch_and_add(&dir->passed_bytes, len);
    return SK_PASS;
}

/* With the sequence guard: needs the kernel's BTF and CAP_PERFMON; the loader falls back to
 * sm_verdict when this one cannot be loaded. */
SEC("sk_skb/verdict")
int sm_verdict_guarded(struct __sk_buff *skb)
{
    return sm_decide(skb, 1);
}

/* Without the guard: CAP_BPF and CAP_NET_ADMIN are enough. */
SEC("sk_skb/verdict")
int sm_verdict(struct __sk_buff *skb)
{
    return sm_decide(skb, 0);
}

char _license[] SEC("license") = "Dual MIT/GPL";
