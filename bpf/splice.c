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

SEC("sk_skb/verdict")
int sm_verdict(struct __sk_buff *skb)
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

char _license[] SEC("license") = "Dual MIT/GPL";
