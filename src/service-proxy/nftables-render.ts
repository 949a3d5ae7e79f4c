/**
 * Pure rendering of kube-proxy's nftables mode for one IP family, in our own table
 * (`table ip k8ts-proxy` / `table ip6 k8ts-proxy`): one service port -> its own chains
 * (`service-`, `local-`, `external-`, `firewall-`, `endpoint-`), its affinity sets and its elements
 * in the shared verdict maps (`service-ips`, `service-nodeports`, `firewall-ips`,
 * `no-endpoint-services`, `no-endpoint-nodeports`). The proxier (nftables-proxier.ts) caches these
 * per service port, so a partial sync writes only the chains and elements of changed services.
 *
 * The semantics are the iptables mode's (iptables-render.ts): the same endpoint choice
 * (usableEndpoints, Local policies), the same masquerade decisions, REJECT for no endpoints and DROP
 * for "endpoints, but none local", loadBalancerSourceRanges plus the LB IPs themselves as accepted
 * sources. Dispatch is by map lookup (`ip daddr . meta l4proto . th dport vmap @service-ips`)
 * instead of a linear chain, and the endpoint choice is one `numgen random mod N vmap`.
 */
import { hash16 } from './chain-names.js';
import { usableEndpoints } from './iptables-render.js';
import {
  type EndpointInfo,
  endpointString,
  type IpFamily,
  ipFamilyOf,
  type ServicePortInfo,
} from './model.js';

export const NFT_TABLE = 'k8ts-proxy';
export const NFT_MASQ_MARK = '0x4000';

/** Node-wide settings of one family's nftables rendering. */
export interface NftRenderConfig {
  family: IpFamily;
  /** This node's name: endpoints with this nodeName are local. */
  nodeName: string;
  /** Pod network of this family (off-cluster traffic to a ClusterIP is masqueraded); undefined: none. */
  clusterCidr?: string | undefined;
  /** Masquerade every ClusterIP connection (kube-proxy --masquerade-all). */
  masqueradeAll?: boolean | undefined;
  /**
   * kube-proxy's --nodeport-addresses: NodePorts only on local addresses inside these CIDRs
   * (undefined: every local address except loopback).
   */
  nodePortAddresses?: readonly string[] | undefined;
}

/** The shared verdict maps the per-service elements go into. */
export type NftMapName =
  | 'service-ips'
  | 'service-nodeports'
  | 'firewall-ips'
  | 'no-endpoint-services'
  | 'no-endpoint-nodeports';

export interface NftElement {
  map: NftMapName;
  /** `10.43.0.10 . tcp . 80` or `tcp . 30080`. */
  key: string;
  /** `goto service-...`, `goto reject-chain`, `drop`. */
  verdict: string;
}

/** The rendering of one service port for one family. */
export interface RenderedNftServicePort {
  /** `namespace/name` of the service. */
  service: string;
  /** Chains owned by this service port: name -> rule bodies (the text after `add rule T NAME`). */
  chains: Map<string, string[]>;
  /** Affinity sets owned by this service port: name -> timeout in seconds. */
  sets: Map<string, number>;
  elements: NftElement[];
}

/** `ip` or `ip6`: the nft family keyword and the address match prefix. */
export function nftFamily(family: IpFamily): 'ip' | 'ip6' {
  return family === 'IPv4' ? 'ip' : 'ip6';
}

/** `<hash8>-<ns>/<name>/<proto>/<port>`: the common part of a service port's chain names (upstream's shape). */
export function nftServiceBase(
  sp: Pick<ServicePortInfo, 'name' | 'service' | 'portName' | 'protocol'>,
): string {
  const proto = sp.protocol.toLowerCase();
  return `${hash16(sp.name + proto).slice(0, 8)}-${sp.service}/${proto}/${sp.portName}`;
}

/** `endpoint-<hash8>-<ns>/<name>/<proto>/<port>__<ip>/<port>` (IPv6 colons become dots: nft names allow no colon). */
function endpointBase(sp: ServicePortInfo, ep: EndpointInfo): string {
  const proto = sp.protocol.toLowerCase();
  const h = hash16(sp.name + proto + endpointString(ep)).slice(0, 8);
  return `${h}-${sp.service}/${proto}/${sp.portName}__${ep.ip.replace(/:/g, '.')}/${ep.port}`;
}

/** Render one service port (undefined when it has no ClusterIP of this family). */
export function renderNftServicePort(
  sp: ServicePortInfo,
  allEndpoints: readonly EndpointInfo[],
  cfg: NftRenderConfig,
): RenderedNftServicePort | undefined {
  const fam = cfg.family;
  const clusterIP = sp.clusterIPs.find((ip) => ipFamilyOf(ip) === fam);
  if (!clusterIP) return undefined;
  const ip = nftFamily(fam);
  const proto = sp.protocol.toLowerCase();
  const inFamily = (a: string) => ipFamilyOf(a.split('/')[0]!) === fam;
  const externalIPs = sp.externalIPs.filter(inFamily);
  const lbIPs = sp.loadBalancerIPs.filter(inFamily);
  const sourceRanges = sp.loadBalancerSourceRanges.filter(inFamily);
  const externallyAccessible = sp.nodePort > 0 || externalIPs.length > 0 || lbIPs.length > 0;

  const eps = allEndpoints.filter((e) => ipFamilyOf(e.ip) === fam);
  const usesCluster = !sp.internalPolicyLocal || externallyAccessible;
  const usesLocal = sp.internalPolicyLocal || sp.externalPolicyLocal;
  const clusterEps = usesCluster ? usableEndpoints(eps) : [];
  const localEps = usesLocal ? usableEndpoints(eps.filter((e) => e.nodeName === cfg.nodeName)) : [];
  const hasEndpoints = clusterEps.length > 0 || localEps.length > 0 || usableEndpoints(eps).length > 0;
  const hasInternal = sp.internalPolicyLocal ? localEps.length > 0 : clusterEps.length > 0;
  const hasExternal = sp.externalPolicyLocal ? localEps.length > 0 : clusterEps.length > 0;
  const noEndpointVerdict = hasEndpoints ? 'drop' : 'goto reject-chain';

  const base = nftServiceBase(sp);
  const svc = `service-${base}`;
  const loc = `local-${base}`;
  const ext = `external-${base}`;
  const fw = `firewall-${base}`;
  const out: RenderedNftServicePort = {
    service: sp.service,
    chains: new Map(),
    sets: new Map(),
    elements: [],
  };
  const el = (map: NftMapName, key: string, verdict: string) => out.elements.push({ map, key, verdict });

  // ClusterIP.
  const svcKey = (addr: string) => `${addr} . ${proto} . ${sp.port}`;
  if (hasInternal) el('service-ips', svcKey(clusterIP), `goto ${sp.internalPolicyLocal ? loc : svc}`);
  else el('no-endpoint-services', svcKey(clusterIP), noEndpointVerdict);

  // External destinations.
  for (const a of [...externalIPs, ...lbIPs]) {
    if (hasExternal) el('service-ips', svcKey(a), `goto ${ext}`);
    else el('no-endpoint-services', svcKey(a), noEndpointVerdict);
  }
  if (sourceRanges.length > 0) for (const a of lbIPs) el('firewall-ips', svcKey(a), `goto ${fw}`);
  if (sp.nodePort > 0) {
    const key = `${proto} . ${sp.nodePort}`;
    if (hasExternal) el('service-nodeports', key, `goto ${ext}`);
    else el('no-endpoint-nodeports', key, noEndpointVerdict);
  }

  // firewall-: anything but the accepted sources (and the LB IPs themselves, for traffic a node
  // sends through its own load balancer) is dropped before DNAT.
  if (lbIPs.length > 0 && sourceRanges.length > 0)
    out.chains.set(fw, [`${ip} saddr != { ${[...sourceRanges, ...lbIPs].join(', ')} } drop`]);

  // external-.
  if (hasExternal && externallyAccessible) {
    const rules: string[] = [];
    if (sp.externalPolicyLocal) {
      if (cfg.clusterCidr) rules.push(`${ip} saddr ${cfg.clusterCidr} goto ${svc}`);
      rules.push('fib saddr type local jump mark-for-masquerade');
      rules.push(`fib saddr type local goto ${svc}`);
      rules.push(`goto ${loc}`);
    } else {
      rules.push('jump mark-for-masquerade');
      rules.push(`goto ${svc}`);
    }
    out.chains.set(ext, rules);
  }

  // Policy chains and endpoint chains.
  const epChains = new Map<string, { ep: EndpointInfo; affinity: string | undefined }>();
  const policyChain = (chain: string, list: readonly EndpointInfo[], masqRule: boolean) => {
    const rules: string[] = [];
    if (masqRule) {
      if (cfg.masqueradeAll) rules.push(`${ip} daddr ${clusterIP} jump mark-for-masquerade`);
      else if (cfg.clusterCidr)
        rules.push(`${ip} daddr ${clusterIP} ${ip} saddr != ${cfg.clusterCidr} jump mark-for-masquerade`);
    }
    const names = list.map((e) => {
      const b = endpointBase(sp, e);
      const name = `endpoint-${b}`;
      // The timeout is part of the set's hash: a new timeout is a new set (an existing set's timeout
      // cannot be changed), swapped in by the same transaction that rewrites the chains using it.
      const affinity =
        sp.affinitySeconds > 0
          ? `affinity-${hash16(`${b}${sp.affinitySeconds}`).slice(0, 8)}-${b.slice(9)}`
          : undefined;
      epChains.set(name, { ep: e, affinity });
      return { name, affinity };
    });
    for (const n of names) if (n.affinity) rules.push(`${ip} saddr @${n.affinity} goto ${n.name}`);
    rules.push(
      `numgen random mod ${names.length} vmap { ${names.map((n, i) => `${i} : goto ${n.name}`).join(', ')} }`,
    );
    out.chains.set(chain, rules);
  };
  if (clusterEps.length > 0) policyChain(svc, clusterEps, !sp.internalPolicyLocal);
  if (localEps.length > 0) policyChain(loc, localEps, false);
  for (const [name, { ep, affinity }] of epChains) {
    const rules = [`${ip} saddr ${ep.ip} jump mark-for-masquerade`];
    if (affinity) {
      out.sets.set(affinity, sp.affinitySeconds);
      rules.push(`update @${affinity} { ${ip} saddr }`);
    }
    const to = fam === 'IPv4' ? `${ep.ip}:${ep.port}` : `[${ep.ip}]:${ep.port}`;
    rules.push(`meta l4proto ${proto} dnat to ${to}`);
    out.chains.set(name, rules);
  }
  return out;
}

/** A base chain: hooked into netfilter. */
export interface NftBaseChain {
  name: string;
  /** `type nat hook prerouting priority -100 ;` */
  spec: string;
}

/** The table's fixed maps, chains and rules (the same on every sync). */
export function nftBaseRuleset(cfg: NftRenderConfig): {
  maps: Map<NftMapName, string>;
  baseChains: NftBaseChain[];
  chains: Map<string, string[]>;
} {
  const ip = nftFamily(cfg.family);
  const addr = cfg.family === 'IPv4' ? 'ipv4_addr' : 'ipv6_addr';
  const maps = new Map<NftMapName, string>([
    ['service-ips', `${addr} . inet_proto . inet_service : verdict`],
    ['service-nodeports', 'inet_proto . inet_service : verdict'],
    ['firewall-ips', `${addr} . inet_proto . inet_service : verdict`],
    ['no-endpoint-services', `${addr} . inet_proto . inet_service : verdict`],
    ['no-endpoint-nodeports', 'inet_proto . inet_service : verdict'],
  ]);
  const baseChains: NftBaseChain[] = [
    { name: 'nat-prerouting', spec: 'type nat hook prerouting priority -100 ;' },
    { name: 'nat-output', spec: 'type nat hook output priority -100 ;' },
    { name: 'nat-postrouting', spec: 'type nat hook postrouting priority 100 ;' },
    { name: 'filter-prerouting-pre-dnat', spec: 'type filter hook prerouting priority -110 ;' },
    { name: 'filter-output-pre-dnat', spec: 'type filter hook output priority -110 ;' },
    { name: 'filter-input', spec: 'type filter hook input priority 0 ;' },
    { name: 'filter-forward', spec: 'type filter hook forward priority 0 ;' },
    { name: 'filter-output', spec: 'type filter hook output priority 0 ;' },
  ];
  // NodePorts: on local addresses (not loopback, which nftables mode never accepts, as upstream),
  // or on local addresses inside the --nodeport-addresses CIDRs.
  const cidrs = cfg.nodePortAddresses?.filter((c) => ipFamilyOf(c.split('/')[0]!) === cfg.family);
  const nodePortMatch = cfg.nodePortAddresses
    ? `${ip} daddr { ${cidrs?.length ? cidrs.join(', ') : cfg.family === 'IPv4' ? '0.0.0.0/32' : '::/128'} } fib daddr type local`
    : `fib daddr type local ${ip} daddr != ${cfg.family === 'IPv4' ? '127.0.0.0/8' : '::1'}`;
  const chains = new Map<string, string[]>([
    ['nat-prerouting', ['jump services']],
    ['nat-output', ['jump services']],
    ['nat-postrouting', ['jump masquerading']],
    ['filter-prerouting-pre-dnat', ['ct state new jump firewall-check']],
    ['filter-output-pre-dnat', ['ct state new jump firewall-check']],
    [
      'filter-input',
      ['ct state new jump nodeport-endpoints-check', 'ct state new jump service-endpoints-check'],
    ],
    ['filter-forward', ['ct state new jump service-endpoints-check']],
    ['filter-output', ['ct state new jump service-endpoints-check']],
    ['mark-for-masquerade', [`meta mark set meta mark | ${NFT_MASQ_MARK}`]],
    [
      'masquerading',
      [
        `meta mark & ${NFT_MASQ_MARK} == 0 return`,
        `meta mark set meta mark ^ ${NFT_MASQ_MARK}`,
        'masquerade fully-random',
      ],
    ],
    [
      'services',
      [
        `${ip} daddr . meta l4proto . th dport vmap @service-ips`,
        `${nodePortMatch} meta l4proto . th dport vmap @service-nodeports`,
      ],
    ],
    ['firewall-check', [`${ip} daddr . meta l4proto . th dport vmap @firewall-ips`]],
    ['reject-chain', ['reject']],
    ['service-endpoints-check', [`${ip} daddr . meta l4proto . th dport vmap @no-endpoint-services`]],
    ['nodeport-endpoints-check', [`${nodePortMatch} meta l4proto . th dport vmap @no-endpoint-nodeports`]],
  ]);
  return { maps, baseChains, chains };
}
