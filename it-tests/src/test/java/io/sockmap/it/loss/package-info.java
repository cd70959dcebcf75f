/**
 * The packet-loss harness: does a spliced proxy keep every byte when TCP retransmits? The kernel's
 * sockmap verdict path hands whole skbs to the program, including a retransmitted segment whose
 * head the socket had already received; {@code scripts/lossy.sh} makes such retransmissions common
 * by dropping packets on the loopback of a private network namespace (the tc classifier
 * {@code src/test/bpf/lossy.c}), runs {@link io.sockmap.it.loss.LossyTransfers} (a checking backend
 * and clients, no agent) through a proxy with the agent, and reports every damaged direction:
 * where the first difference is and, for a repeated block, where it was repeated from
 * ({@link io.sockmap.it.loss.StreamCheck}). {@code LossyLinkIT} runs a bounded version.
 */
package io.sockmap.it.loss;
