package fahras.node;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.painless.PainlessPlugin;
import org.opensearch.transport.Netty4Plugin;

/**
 * One OpenSearch node in this JVM, configured by HOME/config/opensearch.yml, running until SIGTERM.
 *
 * <p>OpenSearch's own launcher (Bootstrap) expects an unpacked distribution: modules as folders, a
 * security policy, a JarHell scan of the classpath and production bootstrap checks. None of that exists
 * when the node is assembled from Maven jars, so this class builds the Node directly, handing it the three
 * plugins Fahras needs as classpath plugins, which is how OpenSearch's own test nodes are made.
 *
 * <p>Usage: {@code java -cp 'LIB/*' fahras.node.EmbeddedNode HOME}
 */
public final class EmbeddedNode extends Node {

    /** Closing a node flushes its shards; past this a stop falls back to SIGKILL from the caller. */
    private static final long CLOSE_SECONDS = 30;

    private EmbeddedNode(Environment environment) {
        // false: private index settings (index.version.created...) stay forbidden, as on a real node.
        super(environment, List.of(Netty4Plugin.class, CommonAnalysisPlugin.class, PainlessPlugin.class), false);
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: fahras.node.EmbeddedNode HOME (HOME/config/opensearch.yml holds the settings)");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        Environment environment = InternalSettingsPreparer.prepareEnvironment(
            Settings.builder().put("path.home", home.toString()).build(),
            Map.of(),
            home.resolve("config"),
            () -> home.getFileName().toString()
        );

        EmbeddedNode node = new EmbeddedNode(environment);
        CountDownLatch closed = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> close(node, closed), "fahras-node-close"));
        node.start();
        closed.await();  // a non-daemon thread must stay: the node's own threads are daemons
    }

    private static void close(EmbeddedNode node, CountDownLatch closed) {
        try {
            node.close();
            if (!node.awaitClose(CLOSE_SECONDS, TimeUnit.SECONDS)) {
                System.err.println("the node did not close within " + CLOSE_SECONDS + " s");
            }
        } catch (Exception error) {
            error.printStackTrace();
        } finally {
            closed.countDown();
        }
    }
}
