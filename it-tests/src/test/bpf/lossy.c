/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * lossy.c: a tc classifier (sched_cls, direct action) that drops TCP packets on a port range, for
 * the packet-loss harness (scripts/lossy.sh, LossyLinkIT). Attached to the INGRESS hook of a
 * private network namespace's loopback only; never load it on a host's interface.
 *
 *   clang -target bpf -O2 -g -nostdinc -DLOSS_PPM=20000 -DPORT_LO=7000 -DPORT_HI=7001 -c lossy.c -o lossy.o
 *   tc qdisc add dev lo clsact
 *   tc filter add dev lo ingress bpf da obj lossy.o sec tc/lossy
 *
 * Ingress, not egress: a packet dropped at the sender's own egress is reported back to TCP as a
 * local drop (NET_XMIT_DROP), and TCP simply sends it again later, with no loss recovery at all.
 * Dropped at ingress, the packet has left the sender as on a real link.
 *
 * Every TCP packet whose source or destination port is in [PORT_LO, PORT_HI] may be dropped: data
 * segments and pure ACKs alike (lost ACKs cause spurious retransmissions, lost data real ones),
 * except SYN and RST, so that connection set-up does not wait for the 1 s SYN timeout. Each packet
 * crosses loopback ingress once, so each is dropped at most once here.
 *
 * LOSS_PPM: drop probability in parts per million (20000 = 2%), independent per packet.
 * OUTAGE_US, PERIOD_US: besides, the link is down (every such packet dropped) for the first
 * OUTAGE_US microseconds of every PERIOD_US (0: never). An outage catches flights mid-way in both
 * directions: the receiver got the head of a flight but its (often delayed) ACK is lost with the
 * rest, so the sender's timeout retransmits the head again, collapsed with the lost segments after
 * it (net.ipv4.tcp_retrans_collapse): a segment that starts before what the receiver already has
 * and ends after it, the partial retransmission this harness is about.
 * ACK_LEAD_US: pure ACKs (no payload) are dropped from ACK_LEAD_US before each outage on, so the
 * receiver's ACKs for the last segments before the outage are lost for sure (default 0).
 *
 * Statistics (IPv4 only; read with `bpftool map dump name lossy_stats`, eight __u64 counters):
 * 0 packets seen on the ports, 1 dropped, 2 data segments passed, 3 of those that start before the
 * highest ACK the receiver had sent for the flow and end after it (a retransmission overlapping
 * bytes the receiver already had: the partial case), 4 the overlapping bytes of those, 5 data
 * segments passed that end at or before that ACK (whole duplicates, harmless). The receiver's next
 * expected byte is at least its highest ACK, so 3 counts segments that are partial or (if the
 * receiver got more since that ACK) whole duplicates: an indicator, not an exact count.
 *
 * Self-contained on purpose: the few uapi constants and the __sk_buff layout it reads are written
 * here (offsets from include/uapi/linux/bpf.h), so it builds with -nostdinc like bpf/splice.c.
 */

#ifndef LOSS_PPM
#define LOSS_PPM 10000
#endif
#ifndef OUTAGE_US
#define OUTAGE_US 0
#endif
#ifndef PERIOD_US
#define PERIOD_US 1000000
#endif
#ifndef ACK_LEAD_US
#define ACK_LEAD_US 0
#endif
#ifndef PORT_LO
#define PORT_LO 7000
#endif
#ifndef PORT_HI
#define PORT_HI 7001
#endif

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;

#define SEC(name) __attribute__((section(name), used))
/* BTF-defined maps, as libbpf (tc's loader) reads them */
#define __uint(name, val) int (*name)[val]
#define __type(name, val) __typeof__(val) *name

/* struct __sk_buff: only offsets matter; protocol at 16 (network order). */
struct __sk_buff {
    __u32 len;
    __u32 pkt_type;
    __u32 mark;
    __u32 queue_mapping;
    __u32 protocol;
};

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2

#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IPPROTO_TCP 6

#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04

#define TCP_FLAG_ACK 0x10
#define BPF_MAP_TYPE_HASH 1
#define BPF_MAP_TYPE_ARRAY 2

enum { ST_SEEN, ST_DROPPED, ST_DATA, ST_PARTIAL, ST_PARTIAL_BYTES, ST_DUPLICATE, ST_COUNT = 8 };

/* One TCP direction: who sends the data. Addresses and ports as on the wire. */
struct flow {
    __u32 src;
    __u32 dst;
    __u16 sport;
    __u16 dport;
};

/* The highest ACK number a receiver sent, keyed by the data direction it acknowledges. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16384);
    __type(key, struct flow);
    __type(value, __u32);
} lossy_acks SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, ST_COUNT);
    __type(key, __u32);
    __type(value, __u64);
} lossy_stats SEC(".maps");

/* BPF_FUNC_map_lookup_elem = 1, BPF_FUNC_map_update_elem = 2 */
static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *) 1;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, __u64 flags) = (void *) 2;
/* BPF_FUNC_skb_load_bytes = 26, BPF_FUNC_get_prandom_u32 = 7, BPF_FUNC_ktime_get_ns = 5 */
static long (*bpf_skb_load_bytes)(const void *skb, __u32 offset, void *to, __u32 len) = (void *) 26;
static __u32 (*bpf_get_prandom_u32)(void) = (void *) 7;
static __u64 (*bpf_ktime_get_ns)(void) = (void *) 5;

static inline __u16 be16(__u16 v) { return (__u16) ((v >> 8) | (v << 8)); }

static inline int in_range(__u16 port) { return port >= PORT_LO && port <= PORT_HI; }

static inline __u32 be32_at(const __u8 *p) { return ((__u32) p[0] << 24) | ((__u32) p[1] << 16) | ((__u32) p[2] << 8) | p[3]; }

static inline void add(__u32 index, __u64 n)
{
    __u64 *v = bpf_map_lookup_elem(&lossy_stats, &index);
    if (v)
        __sync_fetch_and_add(v, n);
}

/*
 * IPv4 only: remembers the receiver's highest ACK and classifies a data segment against the ACK
 * its receiver sent. Returns nothing; only counts.
 */
static inline void observe(const __u8 *ip, const __u8 *tcp, int passed)
{
    struct flow self = {}, reverse = {};
    __u32 ihl = (ip[0] & 0x0F) * 4, doff = (tcp[12] >> 4) * 4;
    __u32 total = ((__u32) ip[2] << 8) | ip[3];
    __u32 seq = be32_at(tcp + 4), ack = be32_at(tcp + 8);

    self.src = *(const __u32 *) (ip + 12);
    self.dst = *(const __u32 *) (ip + 16);
    self.sport = *(const __u16 *) tcp;
    self.dport = *(const __u16 *) (tcp + 2);
    if (tcp[13] & TCP_FLAG_ACK) {
        reverse.src = self.dst;
        reverse.dst = self.src;
        reverse.sport = self.dport;
        reverse.dport = self.sport;
        __u32 *highest = bpf_map_lookup_elem(&lossy_acks, &reverse);
        if (!highest)
            bpf_map_update_elem(&lossy_acks, &reverse, &ack, 0);
        else if ((int) (ack - *highest) > 0)
            *highest = ack;
    }
    if (!passed || total <= ihl + doff)
        return;
    __u32 len = total - ihl - doff;
    add(ST_DATA, 1);
    __u32 *acked = bpf_map_lookup_elem(&lossy_acks, &self);
    if (!acked)
        return;
    __u32 have = *acked;
    if ((int) (seq - have) < 0) {
        if ((int) (seq + len - have) > 0) {
            add(ST_PARTIAL, 1);
            add(ST_PARTIAL_BYTES, have - seq);
        } else {
            add(ST_DUPLICATE, 1);
        }
    }
}

SEC("tc/lossy")
int lossy(struct __sk_buff *skb)
{
    __u32 l4;
    __u8 ip[40];
    __u16 proto = be16((__u16) skb->protocol);

    if (proto == ETH_P_IP) {
        if (bpf_skb_load_bytes(skb, ETH_HLEN, ip, 20) < 0 || ip[9] != IPPROTO_TCP)
            return TC_ACT_OK;
        l4 = ETH_HLEN + (ip[0] & 0x0F) * 4;
    } else if (proto == ETH_P_IPV6) {
        /* no extension headers on loopback TCP: next header at 6, TCP right after 40 bytes */
        if (bpf_skb_load_bytes(skb, ETH_HLEN, ip, 40) < 0 || ip[6] != IPPROTO_TCP)
            return TC_ACT_OK;
        l4 = ETH_HLEN + 40;
    } else {
        return TC_ACT_OK;
    }

    __u8 tcp[14];
    if (bpf_skb_load_bytes(skb, l4, tcp, sizeof(tcp)) < 0)
        return TC_ACT_OK;
    __u16 sport = (__u16) ((tcp[0] << 8) | tcp[1]);
    __u16 dport = (__u16) ((tcp[2] << 8) | tcp[3]);
    if (!in_range(sport) && !in_range(dport))
        return TC_ACT_OK;
    add(ST_SEEN, 1);
    int drop = 0;
    if (!(tcp[13] & (TCP_FLAG_SYN | TCP_FLAG_RST))) {
        __u64 phase = (bpf_ktime_get_ns() / 1000) % PERIOD_US;
        int pure_ack = skb->len <= l4 + (tcp[12] >> 4) * 4;
        if (OUTAGE_US > 0 && (phase < OUTAGE_US || (pure_ack && phase >= PERIOD_US - ACK_LEAD_US)))
            drop = 1;
        else if (bpf_get_prandom_u32() % 1000000 < LOSS_PPM)
            drop = 1;
    }
    if (proto == ETH_P_IP)
        observe(ip, tcp, !drop);
    if (drop) {
        add(ST_DROPPED, 1);
        return TC_ACT_SHOT;
    }
    return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
