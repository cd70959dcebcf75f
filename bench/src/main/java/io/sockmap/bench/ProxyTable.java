package io.sockmap.bench;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The Java proxies the benchmark runs, each without and with the agent: the examples below, plus
 * any proxy given with {@code --proxy NAME=JVM_ARGS} ({@link #parse}). A proxy is a name and the
 * JVM arguments that start it (everything after {@code java}; the harness puts
 * {@code -javaagent:...} first), with placeholders:
 * <ul>
 *   <li>{@code {target}} = {@code 127.0.0.1:PORT} of the backend, {@code {targetHost}}, {@code {targetPort}};</li>
 *   <li>{@code {port}}: a free port the harness picked; the proxy must listen on it, and is ready once
 *       it accepts a connection;</li>
 *   <li>without {@code {port}}, the proxy picks its own and must print {@code listening on <port>} on
 *       stdout when ready (the examples do, with {@code --listen 0});</li>
 *   <li>{@code {examplesJar}}: examples/target/sockmap-examples.jar.</li>
 * </ul>
 */
final class ProxyTable {

    /** One Java proxy of the benchmark: its name in the tables, its JVM arguments, the oldest JDK it runs on. */
    record JavaProxy(String name, List<String> command, int minJdk) {
        JavaProxy {
            command = List.copyOf(command);
        }

        /** True when the harness must pick the port ({@code {port}} appears in the command). */
        boolean takesPort() {
            return command.stream().anyMatch(a -> a.contains("{port}"));
        }

        /** The JVM arguments for one process: placeholders replaced. */
        List<String> commandFor(String examplesJar, InetSocketAddress target, int port) {
            List<String> out = new ArrayList<>(command.size());
            for (String a : command) {
                out.add(a.replace("{targetHost}", target.getHostString())
                        .replace("{targetPort}", Integer.toString(target.getPort()))
                        .replace("{target}", target.getHostString() + ":" + target.getPort())
                        .replace("{port}", Integer.toString(port))
                        .replace("{examplesJar}", examplesJar));
            }
            return out;
        }
    }

    static final List<JavaProxy> JAVA_PROXIES = List.of(
            example("ThreadPairProxy", 17),
            example("TransferToProxy", 17),
            example("VirtualThreadProxy", 21),
            example("NioSelectorProxy", 17),
            example("NettyProxy-epoll", 17, "io.sockmap.examples.NettyProxy", "--transport", "epoll"));

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]+");

    private ProxyTable() {
    }

    private static JavaProxy example(String name, int minJdk, String... mainAndArgs) {
        List<String> cmd = new ArrayList<>(List.of("-cp", "{examplesJar}"));
        cmd.add(mainAndArgs.length > 0 ? mainAndArgs[0] : "io.sockmap.examples." + name);
        cmd.addAll(List.of("--listen", "0", "--target", "{target}"));
        for (int i = 1; i < mainAndArgs.length; i++) {
            cmd.add(mainAndArgs[i]);
        }
        return new JavaProxy(name, cmd, minJdk);
    }

    /**
     * A proxy given on the command line as {@code NAME=JVM_ARGS}: the arguments are split at
     * whitespace. It runs on {@code --java}.
     *
     * @throws IllegalArgumentException with a one-line reason
     */
    static JavaProxy parse(String spec) {
        int eq = spec.indexOf('=');
        if (eq <= 0) {
            throw new IllegalArgumentException("--proxy '" + spec + "': expected NAME=JVM_ARGS, e.g. "
                    + "MyProxy=-cp my.jar com.example.Main {port} {target}");
        }
        String name = spec.substring(0, eq).trim();
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("--proxy '" + spec + "': the name '" + name
                    + "' may only hold letters, digits, '.', '_' and '-'");
        }
        List<String> args = List.of(spec.substring(eq + 1).trim().split("\\s+"));
        if (args.get(0).isEmpty()) {
            throw new IllegalArgumentException("--proxy '" + spec + "': no JVM arguments after '='");
        }
        if (args.stream().noneMatch(a -> a.contains("{target}") || a.contains("{targetPort}"))) {
            throw new IllegalArgumentException("--proxy '" + spec + "': the arguments must say where the proxy "
                    + "connects, with {target} (host:port) or {targetHost} and {targetPort}");
        }
        return new JavaProxy(name, args, 17);
    }
}
