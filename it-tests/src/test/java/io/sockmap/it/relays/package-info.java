/**
 * Blocking relays that exist only for the kernel tests: styles the examples do not show, run in a
 * child JVM with the agent as stand-ins for proxies the agent has never seen.
 */
package io.sockmap.it.relays;
