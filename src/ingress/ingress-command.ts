/**
 * `k8ts ingress`: run the ingress controller and its data plane against a cluster, and the
 * `ingress` component of `k8ts server` (its own client certificate, CN system:k8ts-ingress).
 */
import { hostname } from 'node:os';
import { type Command, InvalidArgumentError } from 'commander';
import type { ControlPlane } from '../core/apiserver/control-plane.js';
import { issueClientCert } from '../core/apiserver/pki/ensure-pki.js';
import { StartupError } from '../core/apiserver/startup-error.js';
import { loadKubeconfig, RestClient } from '../core/client/rest-client.js';
import { DEFAULT_CLASS_NAME } from './ingress-class.js';
import { defaultIngressPorts, type RunningIngress, startIngress } from './start.js';

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`not a port number: ${v}`);
  return n;
}

/** The kubelet's default node name: the host name, lower-cased. */
function defaultNodeName(): string {
  return hostname().toLowerCase();
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** The line tests and users read. */
export function printIngressStarted(r: RunningIngress, nodeName: string): void {
  console.log(
    `k8ts: ingress listening on http port ${r.httpPort} and https port ${r.httpsPort} (node ${nodeName})`,
  );
}

/** Add the --ingress-http-port / --ingress-https-port options to `k8ts server`. */
export function addIngressServerOptions(server: Command): void {
  server
    .option('--ingress-http-port <port>', 'ingress HTTP port (default 80 as root, 8080 rootless)', port)
    .option('--ingress-https-port <port>', 'ingress HTTPS port (default 443 as root, 8443 rootless)', port);
}

/** Start the `ingress` component of `k8ts server`; resolves with its stop function. */
export async function startIngressComponent(
  cp: Pick<ControlPlane, 'pki' | 'url'>,
  o: {
    rootless: boolean;
    nodeName?: string | undefined;
    ingressHttpPort?: number;
    ingressHttpsPort?: number;
  },
): Promise<() => Promise<void>> {
  const cert = await issueClientCert(cp.pki, { commonName: 'system:k8ts-ingress' });
  const client = new RestClient({
    server: cp.url,
    caPem: cp.pki.caCertPem,
    certPem: cert.certPem,
    keyPem: cert.keyPem,
    userAgent: 'k8ts-ingress',
  });
  const ports = defaultIngressPorts(o.rootless);
  const nodeName = o.nodeName ?? defaultNodeName();
  let running: RunningIngress;
  try {
    running = await startIngress({
      client,
      nodeName,
      httpPort: o.ingressHttpPort ?? ports.http,
      httpsPort: o.ingressHttpsPort ?? ports.https,
    });
  } catch (e) {
    client.close();
    throw new StartupError('INGRESS', `ingress: ${(e as Error).message}`);
  }
  printIngressStarted(running, nodeName);
  return async () => {
    await running.stop();
    client.close();
  };
}

interface CommandOptions {
  kubeconfig?: string;
  httpPort?: number;
  httpsPort?: number;
  nodeName: string;
  nodeAddress?: string;
  ingressClass: string;
  bindAddress: string;
  accessLog?: boolean;
}

/** Add `k8ts ingress` to the CLI. */
export function addIngressCommand(program: Command): void {
  program
    .command('ingress')
    .description(
      'run the ingress controller (networking.k8s.io/v1 Ingress, class controller k8ts.io/ingress)',
    )
    .option('--kubeconfig <path>', 'kubeconfig of the cluster', process.env.KUBECONFIG)
    .option('--http-port <port>', 'HTTP port (default 80 as root, else 8080)', port)
    .option('--https-port <port>', 'HTTPS port (default 443 as root, else 8443)', port)
    .option('--bind-address <addr>', 'address the listeners bind', '0.0.0.0')
    .option(
      '--node-name <name>',
      'this node (names its EndpointSlice of kube-system/k8ts-ingress)',
      defaultNodeName(),
    )
    .option('--node-address <ip>', "address published for this node (default: the Node's InternalIP)")
    .option(
      '--ingress-class <name>',
      'IngressClass installed (as the default) when none of ours exists',
      DEFAULT_CLASS_NAME,
    )
    .option('--access-log', 'write an access log line per request to stdout')
    .action(async (o: CommandOptions) => {
      if (!o.kubeconfig) {
        console.error('k8ts ingress: --kubeconfig (or KUBECONFIG) is required');
        process.exit(1);
      }
      const ports = defaultIngressPorts(!isRoot());
      let client: RestClient;
      let running: RunningIngress;
      try {
        client = new RestClient({ ...loadKubeconfig(o.kubeconfig), userAgent: 'k8ts-ingress' });
      } catch (e) {
        console.error(`k8ts ingress: ${(e as Error).message}`);
        process.exit(1);
      }
      try {
        running = await startIngress({
          client,
          nodeName: o.nodeName,
          host: o.bindAddress,
          httpPort: o.httpPort ?? ports.http,
          httpsPort: o.httpsPort ?? ports.https,
          className: o.ingressClass,
          nodeAddress: o.nodeAddress,
          accessLog: o.accessLog ? process.stdout : false,
        });
      } catch (e) {
        console.error(`k8ts ingress: ${(e as Error).message}`);
        client.close();
        process.exit(1);
      }
      printIngressStarted(running, o.nodeName);
      let stopping = false;
      const shutdown = async (sig: string) => {
        if (stopping) return;
        stopping = true;
        console.log(`k8ts ingress: ${sig}, stopping`);
        await running.stop();
        client.close();
        process.exit(0);
      };
      process.on('SIGINT', () => void shutdown('SIGINT'));
      process.on('SIGTERM', () => void shutdown('SIGTERM'));
    });
}
