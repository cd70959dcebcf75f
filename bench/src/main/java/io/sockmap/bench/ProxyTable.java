package io.sockmap.bench;

import java.util.List;

/**
 * The Java proxies the benchmark runs, each without and with the agent. To add a proxy, add one
 * line: its name in the tables, its main class, extra arguments, the oldest JDK it runs on and the
 * jar it lives in ({@code null} = {@code examples/target/sockmap-examples.jar}). It is started as
 * {@code java [-javaagent:...] -cp JAR MAIN --listen 0 --target 127.0.0.1:PORT ARGS...} and must
 * print {@code listening on <port>} on stdout when ready.
 */
final class ProxyTable {

    /** One Java proxy of the benchmark. */
    record JavaProxy(String name, String mainClass, List<String> args, int minJdk, String jar) {
        JavaProxy {
            args = List.copyOf(args);
        }
    }

    static final List<JavaProxy> JAVA_PROXIES = List.of(
            new JavaProxy("ThreadPairProxy", "io.sockmap.examples.ThreadPairProxy", List.of(), 17, null),
            new JavaProxy("TransferToProxy", "io.sockmap.examples.TransferToProxy", List.of(), 17, null),
            new JavaProxy("VirtualThreadProxy", "io.sockmap.examples.VirtualThreadProxy", List.of(), 21, null),
            new JavaProxy("NioSelectorProxy", "io.sockmap.examples.NioSelectorProxy", List.of(), 17, null),
            new JavaProxy("NettyProxy-epoll", "io.sockmap.examples.NettyProxy", List.of("--transport", "epoll"), 17, null));

    private ProxyTable() {
    }
}
