package io.sockmap.examples;

import java.util.Arrays;
import java.util.Map;
import java.util.function.Consumer;

/**
 * {@code java -jar sockmap-examples.jar PROGRAM [options]}: runs one of the example programs by
 * its simple class name, the same as {@code java -cp sockmap-examples.jar io.sockmap.examples.PROGRAM}.
 */
public final class Main {

    private static final Map<String, Consumer<String[]>> PROGRAMS = Map.of(
            "ThreadPairProxy", ThreadPairProxy::main,
            "TransferToProxy", TransferToProxy::main,
            "VirtualThreadProxy", VirtualThreadProxy::main,
            "TransformingProxy", TransformingProxy::main,
            "NioSelectorProxy", NioSelectorProxy::main,
            "NettyProxy", NettyProxy::main,
            "Backend", Backend::main,
            "LoadClient", LoadClient::main);

    private Main() {
    }

    public static void main(String[] args) {
        Consumer<String[]> program = args.length == 0 ? null : PROGRAMS.get(args[0]);
        if (program == null) {
            System.err.println("usage: java -jar sockmap-examples.jar PROGRAM [options]   (PROGRAM --help for its options)");
            System.err.println("programs: ThreadPairProxy TransferToProxy VirtualThreadProxy TransformingProxy NioSelectorProxy NettyProxy Backend LoadClient");
            System.exit(2);
        }
        program.accept(Arrays.copyOfRange(args, 1, args.length));
    }
}
