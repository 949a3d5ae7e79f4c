/**
 * A pod's /etc/resolv.conf and /etc/hosts, free of I/O, with upstream's dnsPolicy rules:
 * - ClusterFirst (default): the cluster DNS, search `<ns>.svc.<domain> svc.<domain> <domain>` then
 *   the host's search domains, `options ndots:5`; for hostNetwork pods it falls back to Default.
 * - ClusterFirstWithHostNet: ClusterFirst, also for hostNetwork pods.
 * - Default: the node's resolv.conf.
 * - None: only what dnsConfig says.
 * dnsConfig (nameservers, searches, options) is merged in for every policy, as upstream does:
 * nameservers appended (at most 3), searches appended (deduplicated, at most 32), options override by name.
 */
import type { KObj } from '../../client/informer.js';

export interface HostResolv {
  nameservers: string[];
  searches: string[];
  options: string[];
}

export interface DnsSettings {
  clusterDns: string[];
  clusterDomain: string;
  host: HostResolv;
}

/** Parse a resolv.conf. */
export function parseResolvConf(text: string): HostResolv {
  const out: HostResolv = { nameservers: [], searches: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    if (!line) continue;
    const [key, ...rest] = line.split(/\s+/);
    if (key === 'nameserver' && rest[0]) out.nameservers.push(rest[0]);
    else if (key === 'search' || key === 'domain') out.searches = rest;
    else if (key === 'options') out.options.push(...rest);
  }
  return out;
}

function mergeOptions(base: string[], extra: KObj[] | undefined): string[] {
  const byName = new Map<string, string>();
  for (const o of base) byName.set(o.split(':')[0]!, o);
  for (const o of extra ?? []) {
    if (!o?.name) continue;
    byName.set(o.name, o.value !== undefined && o.value !== null ? `${o.name}:${o.value}` : o.name);
  }
  return [...byName.values()];
}

/** The resolv.conf of a pod. */
export function podResolvConf(pod: KObj, s: DnsSettings): string {
  const ns: string = pod.metadata?.namespace ?? 'default';
  const hostNet = pod.spec?.hostNetwork === true;
  let policy: string = pod.spec?.dnsPolicy ?? 'ClusterFirst';
  if (policy === 'ClusterFirst' && hostNet) policy = 'Default';
  if (policy === 'ClusterFirstWithHostNet') policy = 'ClusterFirst';
  let nameservers: string[];
  let searches: string[];
  let options: string[];
  if (policy === 'None') {
    nameservers = [];
    searches = [];
    options = [];
  } else if (policy === 'Default' || s.clusterDns.length === 0) {
    nameservers = [...s.host.nameservers];
    searches = [...s.host.searches];
    options = [...s.host.options];
  } else {
    const d = s.clusterDomain;
    nameservers = [...s.clusterDns];
    searches = [`${ns}.svc.${d}`, `svc.${d}`, d, ...s.host.searches];
    options = ['ndots:5'];
  }
  const cfg: KObj = pod.spec?.dnsConfig ?? {};
  nameservers = [...nameservers, ...((cfg.nameservers as string[] | undefined) ?? [])];
  nameservers = [...new Set(nameservers)].slice(0, 3);
  searches = [...new Set([...searches, ...((cfg.searches as string[] | undefined) ?? [])])].slice(0, 32);
  options = mergeOptions(options, cfg.options);
  const lines: string[] = [];
  if (searches.length) lines.push(`search ${searches.join(' ')}`);
  for (const n of nameservers) lines.push(`nameserver ${n}`);
  if (options.length) lines.push(`options ${options.join(' ')}`);
  return `${lines.join('\n')}\n`;
}

/** The /etc/hosts of a pod (upstream's managed file: localhost, the pod's own name, hostAliases). */
export function podHosts(pod: KObj, podIp: string, clusterDomain: string): string {
  const lines = [
    '# Kubernetes-managed hosts file.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
  ];
  const hostname: string = pod.spec?.hostname || pod.metadata?.name || '';
  const ns: string = pod.metadata?.namespace ?? 'default';
  if (pod.spec?.subdomain)
    lines.push(`${podIp}\t${hostname}.${pod.spec.subdomain}.${ns}.svc.${clusterDomain}\t${hostname}`);
  else if (hostname) lines.push(`${podIp}\t${hostname}`);
  const aliases: KObj[] = pod.spec?.hostAliases ?? [];
  if (aliases.length) {
    lines.push('', '# Entries added by HostAliases.');
    for (const a of aliases)
      lines.push(`${a.ip}\t${((a.hostnames as string[] | undefined) ?? []).join('\t')}`);
  }
  return `${lines.join('\n')}\n`;
}
