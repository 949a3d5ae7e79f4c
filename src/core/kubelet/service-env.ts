/**
 * The service environment variables a container sees (docker-link style, as upstream's
 * kubelet writes them): for every Service of the pod's namespace with a ClusterIP (and the
 * `kubernetes` Service of `default`, always), `{SVC}_SERVICE_HOST`, `{SVC}_SERVICE_PORT`,
 * `{SVC}_SERVICE_PORT_{PORT}`, `{SVC}_PORT`, `{SVC}_PORT_{port}_{PROTO}[_PROTO|_PORT|_ADDR]`.
 */
import type { KObj } from '../client/informer.js';

/** `my-svc` -> `MY_SVC`. */
export function envName(name: string): string {
  return name.toUpperCase().replace(/-/g, '_');
}

function hasClusterIp(svc: KObj): boolean {
  const ip = svc.spec?.clusterIP;
  return typeof ip === 'string' && ip !== '' && ip !== 'None';
}

/** The variables of one Service, in upstream's order. */
export function serviceEnv(svc: KObj): [string, string][] {
  if (!hasClusterIp(svc)) return [];
  const n = envName(svc.metadata.name);
  const ip: string = svc.spec.clusterIP;
  const ports: KObj[] = svc.spec.ports ?? [];
  const out: [string, string][] = [[`${n}_SERVICE_HOST`, ip]];
  const first = ports[0];
  if (first) out.push([`${n}_SERVICE_PORT`, String(first.port)]);
  for (const p of ports) if (p.name) out.push([`${n}_SERVICE_PORT_${envName(p.name)}`, String(p.port)]);
  if (first) out.push([`${n}_PORT`, `${(first.protocol ?? 'TCP').toLowerCase()}://${ip}:${first.port}`]);
  for (const p of ports) {
    const proto = (p.protocol ?? 'TCP') as string;
    const prefix = `${n}_PORT_${p.port}_${proto.toUpperCase()}`;
    out.push([prefix, `${proto.toLowerCase()}://${ip}:${p.port}`]);
    out.push([`${prefix}_PROTO`, proto.toLowerCase()]);
    out.push([`${prefix}_PORT`, String(p.port)]);
    out.push([`${prefix}_ADDR`, ip]);
  }
  return out;
}

/**
 * Service variables for a pod in `namespace`: its namespace's Services when `enableServiceLinks`
 * (the default), plus the `kubernetes` Service of `default` in every case. Services of the pod's
 * namespace win over `default/kubernetes` on a name clash.
 */
export function serviceEnvForPod(
  namespace: string,
  services: KObj[],
  opts: { enableServiceLinks?: boolean | undefined } = {},
): Map<string, string> {
  const out = new Map<string, string>();
  const links = opts.enableServiceLinks !== false;
  const master = services.find(
    (s) => s.metadata?.namespace === 'default' && s.metadata?.name === 'kubernetes',
  );
  const own = links ? services.filter((s) => s.metadata?.namespace === namespace) : [];
  const sorted = [...own].sort((a, b) => String(a.metadata.name).localeCompare(String(b.metadata.name)));
  if (master && !own.includes(master)) for (const [k, v] of serviceEnv(master)) out.set(k, v);
  for (const s of sorted) for (const [k, v] of serviceEnv(s)) out.set(k, v);
  return out;
}
