/**
 * Assemble and start the control plane of `k8ts server`: storage, PKI and kubeconfig, the API
 * server with its admission, patching, printing and OpenAPI, allocator repair and the bootstrap
 * objects (system namespaces, the `kubernetes` Service). Tests and benchmarks start it the same way.
 */
import { createHash } from 'node:crypto';
import { accessSync, constants, mkdirSync, realpathSync, statSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { ensureServerJoinToken } from '../../join/server-token.js';
import { RESOURCES, resourceForPlural } from '../api/resources.js';
import { RestClient } from '../client/rest-client.js';
import { startControllerManager } from '../controllers/controller-manager.js';
import { SqliteStorage } from '../storage/sqlite.js';
import type { Storage } from '../storage/storage.js';
import { NodePortAllocator } from './allocator/node-port-allocator.js';
import { ServiceIpAllocator } from './allocator/service-ip-allocator.js';
import { BootstrapSecretCache } from './auth/bootstrap-token-authenticator.js';
import { ensureBootstrapObjects } from './bootstrap.js';
import { KubeletProxy } from './kubelet-proxy.js';
import { meteredStorage } from './metered-storage.js';
import { NamespaceCache } from './namespace-lifecycle.js';
import { defaultServingHosts, ensurePki, issueClientCert, type Pki } from './pki/ensure-pki.js';
import { writeKubeconfig } from './pki/kubeconfig.js';
import { ensureKubeletClientCert } from './pki/kubelet-client.js';
import { Registry } from './registry.js';
import { type ApiServer, createApiServer } from './server.js';
import { repairAllocators, serviceAllocationHooks } from './service-allocation.js';
import { StartupError } from './startup-error.js';
import {
  buildAdmission,
  buildAuth,
  buildHandlerDeps,
  buildMetrics,
  buildOpenApi,
  K8TS_VERSION,
  trackFields,
} from './wiring.js';

export interface ControlPlaneOptions {
  dataDir: string;
  httpsPort: number;
  bindAddress: string;
  serviceCidr?: string | undefined;
  nodePortRange?: string | undefined;
  /** Pod network (node IPAM). */
  clusterCidr?: string | undefined;
  /** Node lifecycle grace period. */
  nodeMonitorGracePeriodSeconds?: number | undefined;
  /** Run without the built-in controllers (garbage collector, namespace). */
  disableControllers?: boolean | undefined;
  /** More names and addresses for the serving certificate (`--tls-san`). */
  tlsSans?: readonly string[] | undefined;
  /** Injected storage (tests, etcd); default SQLite at <dataDir>/db/state.db. */
  storage?: Storage | undefined;
}

export interface ControlPlane {
  server: ApiServer;
  storage: Storage;
  registry: Registry;
  pki: Pki;
  kubeconfigPath: string;
  url: string;
  /** The address agents and the `kubernetes` Service reach this server at. */
  advertiseAddress: string;
  /** The server's join token (`<data-dir>/token`), and whether this start created it. */
  joinToken: string;
  joinTokenCreated: boolean;
  stop(): Promise<void>;
}

/** The first non-internal IPv4 address of this machine, else loopback. */
export function defaultAdvertiseAddress(bindAddress: string): string {
  if (bindAddress !== '0.0.0.0' && bindAddress !== '::') return bindAddress;
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

function checkDataDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    accessSync(dir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch (e) {
    throw new StartupError('DATA_DIR', `cannot use data dir ${dir}: ${(e as Error).message}`);
  }
}

/** Start everything; resolves when the API server is listening and bootstrapped. */
export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  checkDataDir(opts.dataDir);
  let storage = opts.storage;
  let stopCompaction: (() => void) | undefined;
  if (!storage) {
    mkdirSync(join(opts.dataDir, 'db'), { recursive: true, mode: 0o700 });
    try {
      const sqlite = SqliteStorage.open(join(opts.dataDir, 'db', 'state.db'));
      stopCompaction = sqlite.startAutoCompaction();
      storage = sqlite;
    } catch (e) {
      throw new StartupError('DATABASE', (e as Error).message);
    }
  }
  const advertise = defaultAdvertiseAddress(opts.bindAddress);
  const ips = new ServiceIpAllocator(opts.serviceCidr ? { cidr: opts.serviceCidr } : {});
  const pki = await ensurePki(opts.dataDir, {
    hosts: defaultServingHosts({
      hostname: hostname(),
      bindAddress: opts.bindAddress,
      extra: [advertise, ...(opts.tlsSans ?? [])],
      // The `kubernetes` Service's address (the first of the service CIDR) is in the certificate.
      serviceIp: ips.kubernetesServiceIp,
    }),
  });
  const ports = new NodePortAllocator(opts.nodePortRange ? { range: opts.nodePortRange } : {});
  const alloc = serviceAllocationHooks({ ips, ports });
  const admission = buildAdmission();
  const metrics = buildMetrics();
  const registry = new Registry({
    storage: meteredStorage(storage, metrics),
    admission,
    hooks: { ...alloc, trackFields },
  });
  const svcInfo = resourceForPlural('', 'v1', 'services')!;
  const services = await registry.list(svcInfo, {});
  repairAllocators({ ips, ports }, services.items);

  // apiserver_storage_objects, refreshed every minute (upstream refreshes it periodically too).
  const countObjects = async () => {
    for (const r of RESOURCES)
      metrics.setStorageObjects(
        r.group ? `${r.plural}.${r.group}` : r.plural,
        await storage.count(registry.prefix(r)),
      );
  };
  const objectCounter = setInterval(() => void countObjects().catch(() => {}), 60_000);
  objectCounter.unref();
  const namespaces = new NamespaceCache(registry);
  await namespaces.start();
  // Bootstrap tokens are read from the server's own storage watch (authentication is synchronous).
  const bootstrapSecrets = new BootstrapSecretCache(registry);
  await bootstrapSecrets.start();
  const auth = buildAuth(pki, { bootstrapSecrets: (name) => bootstrapSecrets.get(name) });
  const kubeletClient = await ensureKubeletClientCert(pki);
  const server = await createApiServer({
    host: opts.bindAddress,
    port: opts.httpsPort,
    tls: { key: pki.servingKeyPem, cert: pki.servingCertPem, ca: pki.caCertPem },
    cacerts: pki.caCertPem,
    authn: auth.authn,
    authz: auth.authz,
    handlers: buildHandlerDeps(registry, metrics, namespaces),
    openapi: buildOpenApi(),
    metrics,
    advertiseAddress: `${advertise}:${opts.httpsPort}`,
    version: K8TS_VERSION,
    ready: async () => {
      await storage.currentRevision();
    },
    kubelet: new KubeletProxy({
      registry,
      tls: { cert: kubeletClient.certPem, key: kubeletClient.keyPem, ca: pki.caCertPem },
    }),
  });
  try {
    await server.start();
  } catch (e) {
    bootstrapSecrets.stop();
    namespaces.stop();
    await storage.close();
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE')
      throw new StartupError(
        'PORT_IN_USE',
        `port ${opts.httpsPort} on ${opts.bindAddress} is already in use; stop the other server or choose another port with --https-port`,
      );
    if (err.code === 'EACCES')
      throw new StartupError(
        'PORT_DENIED',
        `not allowed to listen on ${opts.bindAddress}:${opts.httpsPort}: ${err.message}`,
      );
    throw e;
  }
  const port = server.port || opts.httpsPort;
  const host = opts.bindAddress === '0.0.0.0' || opts.bindAddress === '::' ? '127.0.0.1' : opts.bindAddress;
  const url = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  await ensureBootstrapObjects(registry, {
    advertiseAddress: advertise,
    port,
    serviceIp: ips.kubernetesServiceIp,
  });
  const joinTok = await ensureServerJoinToken(registry, { dataDir: opts.dataDir, caPem: pki.caCertPem });
  await countObjects();
  const kubeconfigPath = join(opts.dataDir, 'kubeconfig.yaml');
  await writeKubeconfig(kubeconfigPath, {
    server: url,
    caPem: pki.caCertPem,
    clientCertPem: pki.adminCertPem,
    clientKeyPem: pki.adminKeyPem,
  });
  // Controllers reach the API like any remote client would: HTTPS on loopback with their own identity.
  const cmCert = await issueClientCert(pki, { commonName: 'system:kube-controller-manager' });
  const client = new RestClient({
    server: url,
    caPem: pki.caCertPem,
    certPem: cmCert.certPem,
    keyPem: cmCert.keyPem,
    userAgent: 'k8ts-controller-manager',
  });
  // A stable identity per data dir: a restarted server takes its own Lease back at once instead
  // of waiting out the lease of its previous life.
  const identity = `${hostname()}_${createHash('sha256').update(realpathSync(opts.dataDir)).digest('hex').slice(0, 12)}`;
  const controllers = opts.disableControllers
    ? undefined
    : startControllerManager({
        client,
        config: {
          ...(opts.clusterCidr ? { clusterCidr: opts.clusterCidr } : {}),
          ...(opts.nodeMonitorGracePeriodSeconds
            ? { nodeMonitorGracePeriodSeconds: opts.nodeMonitorGracePeriodSeconds }
            : {}),
          // The csr-signer issues node certificates with the cluster CA (upstream's
          // --cluster-signing-cert-file / --cluster-signing-key-file).
          signer: { caCertPem: pki.caCertPem, caKeyPem: pki.caKeyPem },
        },
        leaderElection: { identity },
        log: () => {},
      });
  return {
    server,
    storage,
    registry,
    pki,
    kubeconfigPath,
    url,
    advertiseAddress: advertise,
    joinToken: joinTok.token,
    joinTokenCreated: joinTok.created,
    stop: async () => {
      clearInterval(objectCounter);
      await controllers?.stop();
      namespaces.stop();
      bootstrapSecrets.stop();
      client.close();
      await server.stop({ timeoutMs: 2000 });
      stopCompaction?.();
      await storage.close();
    },
  };
}
