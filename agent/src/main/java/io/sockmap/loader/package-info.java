/**
 * ELF object -> maps and programs in the kernel.
 *
 * <p>Two layers, as in cilium/ebpf: {@link io.sockmap.loader.BpfObjectSpec} parses a clang-built
 * BPF object ({@code bpf/splice.c}, embedded as {@code /io/sockmap/bpf/splice.o}) into pure,
 * not-yet-loaded {@link io.sockmap.loader.MapSpec}s and {@link io.sockmap.loader.ProgramSpec}s;
 * {@link io.sockmap.loader.BpfCollection#load} creates the maps, patches their fds into the
 * programs' {@code ld_imm64} instructions and loads the programs, returning fd-owning handles
 * ({@link io.sockmap.loader.BpfMap}, {@link io.sockmap.loader.BpfProgram}). A program the verifier
 * rejects is loaded again with a log, which the {@link io.sockmap.loader.LoaderException} keeps.
 *
 * <p>Supported object format: legacy map definitions (five {@code __u32} in section {@code maps},
 * one global symbol per map), one program per global function in sections named after the
 * program type ({@code sk_skb/...}, {@code sk_msg}, {@code socket}), {@code R_BPF_64_64} map
 * relocations, and {@code R_BPF_64_32} calls to kernel functions ({@code extern ... __ksym}).
 * No global data, no BPF-to-BPF calls; the object's own BTF is ignored. Kernel references (kfunc
 * ids, struct field offsets marked by placeholder load offsets) are resolved against the running
 * kernel's BTF by {@link io.sockmap.loader.KernelRefs} with {@link io.sockmap.loader.KernelBtf}.
 * A program can be loaded as optional: if the kernel refuses it, the collection loads without it
 * and says why ({@link io.sockmap.loader.BpfCollection#skipped()}).
 *
 * <p>{@link io.sockmap.loader.BpfSupport} is the entry point for the engine: probe, then load the
 * splice program attached to its source map. Every syscall goes through
 * {@link io.sockmap.kernel.Bpf}; raw fds never leave this package.
 */
package io.sockmap.loader;
