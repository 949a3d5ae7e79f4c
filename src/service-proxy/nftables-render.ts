/**
 * Pure rendering of kube-proxy's nftables mode for one IP family, in our own table
 * (`table ip k8ts-proxy` / `table ip6 k8ts-proxy`): one service port -> its own chains
 * (`service-`, `local-`, `external-`, `firewall-`), its affinity sets and its elements in the shared
 * verdict maps (`service-ips`, `service-nodeports`, `firewall-ips`, `no-endpoint-services`,
 * `no-endpoint-nodeports`) and the `hairpin` set. The proxier (nftables-proxier.ts) caches these per
 * service port, so a partial sync writes only the chains and elements of changed services.
 *
 * The semantics are the iptables mode's (iptables-render.ts): the same endpoint choice
 * (usableEndpoints, Local policies), the same masquerade decisions, REJECT for no endpoints and DROP
 * for "endpoints, but none local", loadBalancerSourceRanges plus the LB IPs themselves as accepted
 * sources. Dispatch is by map lookup (`ip daddr . meta l4proto . th dport vmap @service-ips`)
 * instead of a linear chain.
 *
 * Departures from upstream's layout, each measured on this kernel (6.18) with nft 1.0.6
 * (docs/architecture.md has the figures):
 * - The spread is one lookup in a named map, not `numgen random mod N vmap { ... }`: each
 *   anonymous vmap is an anonymous set, and the kernel names a new one by scanning every set of the
 *   table (a full sync O(services^2)). A policy chain of its own without affinity ends in
 *   `meta l4proto tcp dnat ip to numgen random mod N offset OFF map @endpoints-S`, its endpoints in
 *   slots OFF..OFF+N-1 of endpoint map S (`slot : address . port`); the shard comes from the chain
 *   hash, the slots from the proxier (nftables-slots.ts), so this module returns the chain's other
 *   rules and its targets (NftSpread) and nftSpreadRule completes the chain. Why shards: the kernel
 *   checks every element of a map against every rule bound to it (one map for all: rules x
 *   elements), and finds a named map by a linear search (one map per service: services^2).
 *   Consequence: an endpoint change that keeps the count rewrites elements only, no rule.
 * - A plain service port (no affinity, internalTrafficPolicy Cluster, only a ClusterIP) has no chain
 *   at all: `service-ips` goes to a shared chain spread-N (nftSharedSpreadChain), its endpoints are
 *   elements `<clusterIP> . <port> . <i>` of map spread-endpoints-N-<proto> (spreadGroup), so
 *   every change of its endpoints is element-only and the table holds few chains (each nft run
 *   dumps them all).
 * - With session affinity the spread stays a cascade (`numgen random mod K == 0`, endpoint i with
 *   probability 1/(N-i)), because each endpoint needs its own `update @affinity-...` statement.
 * - No chain per endpoint: every `nft` run that adds a rule or an element first dumps every chain
 *   of the table into its cache, so the cost of any change grows with the number of chains; with
 *   10 endpoints per service the endpoint chains were 10/11 of them. The policy chain DNATs
 *   directly; the hairpin masquerade an endpoint chain did (`ip saddr <ep>`) is one rule in nat
 *   postrouting matching `ip saddr . ip daddr @hairpin` after DNAT, with pairs only for endpoints on
 *   this node (a pod reaches itself through a service only on its own node).
 */
import { hash16 } from './chain-names.js';
import { cidrContains } from './cidr.js';
import { familyView } from './iptables-render.js';
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
  /** Number of endpoint maps (default NFT_ENDPOINT_SHARDS; tests use 1 to put every service in one). */
  endpointShards?: number | undefined;
}

/** The shared verdict maps (and the `hairpin` set) the per-service elements go into. */
export type NftMapName =
  | 'hairpin'
  | 'service-ips'
  | 'service-nodeports'
  | 'firewall-ips'
  | 'no-endpoint-services'
  | 'no-endpoint-nodeports';

/** Protocols of the shared spread chains' rules, each with its own endpoint map. */
export const NFT_SPREAD_PROTOCOLS = ['tcp', 'udp', 'sctp'] as const;

/** A shared spread chain's endpoint map of one protocol: `spread-endpoints-<N>-<proto>` (nftSharedSpreadMap). */
export type NftSharedSpreadMapName = `spread-endpoints-${number}-${string}`;

export interface NftElement {
  map: NftMapName;
  /** `10.43.0.10 . tcp . 80`, `tcp . 30080`, or `10.42.0.11 . 10.42.0.11` (hairpin). */
  key: string;
  /** `goto service-...`, `goto reject-chain`, `drop`; '' in the `hairpin` set. */
  verdict: string;
  /** `<map> <key>`: the element's identity across renderings (computed once, hashed once). */
  id: string;
}

/** The rendering of one service port for one family. */
export interface RenderedNftServicePort {
  /** `namespace/name` of the service. */
  service: string;
  /** Chains owned by this service port: name -> rule bodies (the text after `add rule T NAME`). */
  chains: Map<string, string[]>;
  /**
   * Policy chains that end in a numgen lookup (no session affinity): chain -> its endpoints. The
   * chain's rules in `chains` are the ones before that lookup; the proxier allocates the slots and
   * appends nftSpreadRule.
   */
  spreads: Map<string, NftSpread>;
  /** Affinity sets owned by this service port: name -> timeout in seconds. */
  sets: Map<string, number>;
  elements: NftElement[];
  /**
   * A plain service port (see nftSharedSpreadChain) with N endpoints: N, its `service-ips` element
   * goes to shared chain spread-N and its endpoints are elements of map spread-endpoints-N-<proto>;
   * else 0.
   */
  sharedSpread: number;
  /**
   * The endpoints of a plain service port (sharedSpread > 0): element i of map `map`
   * (spread-endpoints-<targets.length>-<proto>) is `<key> . <i> : <targets[i]>`. They belong to
   * whichever service port owns its `service-ips` element (id `serviceIpsId`), like that element.
   */
  spreadGroup: NftSpreadGroup | undefined;
}

/** A plain service port's endpoint elements (RenderedNftServicePort.spreadGroup). */
export interface NftSpreadGroup {
  /** Id of the service port's `service-ips` element (NftElement.id). */
  serviceIpsId: string;
  /** The shared spread map of its endpoint count and protocol. */
  map: NftSharedSpreadMapName;
  /** `<clusterIP> . <port>`. */
  key: string;
  /** `10.42.0.11 . 8080` per endpoint. */
  targets: readonly string[];
}

/** The endpoints of one policy chain without affinity, to be placed in slots of one endpoint map. */
export interface NftSpread {
  /** Endpoint map shard (endpoints-NN), from the service port's chain hash. */
  shard: number;
  /** `tcp`, `udp` or `sctp`. */
  proto: string;
  /** The map values, in endpoint order: `10.42.0.11 . 8080`, `fd42::11 . 8080`. */
  targets: string[];
}

/**
 * Number of endpoint maps. The kernel checks each element of a map against each rule bound to it
 * (when the element is added, or when a rule binding the map is added: every element then), so a
 * full sync costs about rules x elements / shards of such checks, while a lookup of a map by name is
 * linear in the maps of the table. 256 shards of about 40 rules and 400 elements each at 10,000
 * services x 10 endpoints: measured here 1.4-1.8 s of `nft -f` vs 2.1 s with 64 shards, no better
 * with 512 or 1,024 (docs/architecture.md).
 */
export const NFT_ENDPOINT_SHARDS = 256;

/** Name of endpoint map `shard`: `endpoints-007`. */
export function nftEndpointMap(shard: number): string {
  return `endpoints-${shard < 10 ? '00' : shard < 100 ? '0' : ''}${shard}`;
}

/** The declaration body of an endpoint map of one family: slot -> address . port. */
export function nftEndpointMapSpec(family: IpFamily): string {
  return `typeof numgen random mod 1 : ${nftFamily(family)} daddr . tcp dport ;`;
}

/**
 * Shared spread chain of the plain service ports with N endpoints: `spread-N`. A plain service port
 * (no session affinity, internalTrafficPolicy Cluster, no NodePort, externalIPs or LB IPs: only its
 * ClusterIP leads to it) needs no chain of its own: `service-ips` sends it to spread-N, which
 * masquerades as its service chain would (it is only entered for a ClusterIP) and DNATs with
 * `meta l4proto tcp dnat ip to ip daddr . th dport . numgen random mod N map @spread-endpoints-N-tcp`
 * (a rule and a map per protocol), whose elements are `<clusterIP> . <port> . <i> : <ep ip> . <ep
 * port>`. Every change of its endpoints is then element-only (a count change moves its elements to
 * another N), and the table holds no chain per such service (every `nft` run dumps every chain
 * first). A map per protocol rather than the protocol in the key: nft's cost of an element is
 * ~10k instructions per component of its concatenations, and these are most of a first sync's
 * elements (one per endpoint), so 53k instead of 61k each.
 */
export function nftSharedSpreadChain(n: number): string {
  return `spread-${n}`;
}

/** The endpoint map of shared spread chain spread-N for protocol `proto` (tcp, udp, sctp). */
export function nftSharedSpreadMap(n: number, proto: string): NftSharedSpreadMapName {
  return `spread-endpoints-${n}-${proto}`;
}

/**
 * Declaration body of the shared spread map of protocol `proto`: clusterIP . port . index -> address
 * . port. The value is typed by the map's own protocol: nft 1.0.6 evaluates a map's `typeof` in the
 * protocol context of the rule that uses it, and refuses `meta l4proto sctp ... map @M` for a value
 * of `tcp dport` ("conflicting protocols"), unless a tcp rule happened to use M earlier in that run.
 */
export function nftSharedSpreadMapSpec(family: IpFamily, proto: string): string {
  const ip = nftFamily(family);
  return `typeof ${ip} daddr . th dport . numgen random mod 1 : ${ip} daddr . ${proto} dport ;`;
}

/** Rules of shared spread chain spread-N. */
export function nftSharedSpreadRules(cfg: NftRenderConfig, n: number): string[] {
  const ip = nftFamily(cfg.family);
  const rules: string[] = [];
  // As a plain service's own chain would: only ClusterIP traffic reaches this chain.
  if (cfg.masqueradeAll) rules.push('jump mark-for-masquerade');
  else if (cfg.clusterCidr) rules.push(`${ip} saddr != ${cfg.clusterCidr} jump mark-for-masquerade`);
  for (const proto of NFT_SPREAD_PROTOCOLS)
    rules.push(
      `meta l4proto ${proto} dnat ${ip} to ${ip} daddr . th dport . numgen random mod ${n} map @${nftSharedSpreadMap(n, proto)}`,
    );
  return rules;
}

/** The rule that ends a spread chain: DNAT to the target in one of slots offset..offset+n-1. */
export function nftSpreadRule(family: IpFamily, spread: NftSpread, offset: number): string {
  const ip = nftFamily(family);
  const map = nftEndpointMap(spread.shard);
  return `meta l4proto ${spread.proto} dnat ${ip} to numgen random mod ${spread.targets.length} offset ${offset} map @${map}`;
}

/** `ip` or `ip6`: the nft family keyword and the address match prefix. */
export function nftFamily(family: IpFamily): 'ip' | 'ip6' {
  return family === 'IPv4' ? 'ip' : 'ip6';
}

/** Chain name bases per service port object (ServicePortInfo objects are immutable and reused). */
const baseCache = new WeakMap<object, string>();

/** `<hash8>-<ns>/<name>/<proto>/<port>`: the common part of a service port's chain names (upstream's shape). */
export function nftServiceBase(
  sp: Pick<ServicePortInfo, 'name' | 'service' | 'portName' | 'protocol'>,
): string {
  let base = baseCache.get(sp);
  if (base === undefined) {
    const proto = sp.protocol.toLowerCase();
    base = `${hash16(sp.name + proto).slice(0, 8)}-${sp.service}/${proto}/${sp.portName}`;
    baseCache.set(sp, base);
  }
  return base;
}

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** The endpoint map shard of a service port: from the first two base32 characters of its hash. */
function shardOf(base: string, shards: number): number {
  return (B32.indexOf(base[0]!) * 32 + B32.indexOf(base[1]!)) % shards;
}

/** `<hash8>-<ns>/<name>/<proto>/<port>__<ip>/<port>`, an endpoint's part of its affinity set name (IPv6 colons become dots: nft names allow no colon). */
function endpointBase(sp: ServicePortInfo, ep: EndpointInfo): string {
  const proto = sp.protocol.toLowerCase();
  const h = hash16(sp.name + proto + endpointString(ep)).slice(0, 8);
  return `${h}-${sp.service}/${proto}/${sp.portName}__${ep.ip.replace(/:/g, '.')}/${ep.port}`;
}

// Never written to: a rendering replaces them with its own map before its first set.
const NO_CHAINS = new Map<string, string[]>();
const NO_SPREADS = new Map<string, NftSpread>();
const NO_SETS = new Map<string, number>();

function chainsOf(out: RenderedNftServicePort): Map<string, string[]> {
  if (out.chains === NO_CHAINS) out.chains = new Map();
  return out.chains;
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
  const view = familyView(sp, allEndpoints, { family: fam, nodeName: cfg.nodeName });
  const { externalIPs, lbIPs, sourceRanges, externallyAccessible, clusterEps, localEps } = view;
  const { hasEndpoints, hasInternal, hasExternal } = view;
  const noEndpointVerdict = hasEndpoints ? 'drop' : 'goto reject-chain';

  const base = nftServiceBase(sp);
  const shard = shardOf(base, cfg.endpointShards ?? NFT_ENDPOINT_SHARDS);
  const svc = `service-${base}`;
  const loc = `local-${base}`;
  const ext = `external-${base}`;
  const fw = `firewall-${base}`;
  const out: RenderedNftServicePort = {
    service: sp.service,
    // Shared empty maps until something is set (most service ports are plain: none of these).
    chains: NO_CHAINS,
    spreads: NO_SPREADS,
    sets: NO_SETS,
    elements: [],
    sharedSpread: 0,
    spreadGroup: undefined,
  };
  const el = (map: NftMapName, key: string, verdict: string) =>
    out.elements.push({ map, key, verdict, id: `${map} ${key}` });

  // ClusterIP.
  const svcKey = (addr: string) => `${addr} . ${proto} . ${sp.port}`;
  const plain = sp.affinitySeconds <= 0 && !sp.internalPolicyLocal && !externallyAccessible;
  if (plain && hasInternal) {
    // No chain of its own (nftSharedSpreadChain).
    const n = clusterEps.length;
    out.sharedSpread = n;
    el('service-ips', svcKey(clusterIP), `goto ${nftSharedSpreadChain(n)}`);
    const targets = new Array<string>(n);
    for (let i = 0; i < n; i++) targets[i] = `${clusterEps[i]!.ip} . ${clusterEps[i]!.port}`;
    out.spreadGroup = {
      serviceIpsId: out.elements.at(-1)!.id,
      map: nftSharedSpreadMap(n, proto),
      key: `${clusterIP} . ${sp.port}`,
      targets,
    };
  } else if (hasInternal) el('service-ips', svcKey(clusterIP), `goto ${sp.internalPolicyLocal ? loc : svc}`);
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
  // (One rule per accepted source rather than an anonymous set: see the cascade below.)
  if (lbIPs.length > 0 && sourceRanges.length > 0)
    chainsOf(out).set(fw, [...[...sourceRanges, ...lbIPs].map((r) => `${ip} saddr ${r} return`), 'drop']);

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
    chainsOf(out).set(ext, rules);
  }

  // Policy chains: the endpoint is chosen and DNATed right there, without a chain per endpoint
  // (why: the header). Without affinity the choice is one numgen lookup in a sharded endpoint map
  // (the proxier places the targets in slots and completes the rule: nftSpreadRule); with affinity a
  // cascade, because each endpoint needs its own `update @affinity-...` statement.
  const policyChain = (chain: string, list: readonly EndpointInfo[], masqRule: boolean) => {
    const rules: string[] = [];
    if (masqRule) {
      if (cfg.masqueradeAll) rules.push(`${ip} daddr ${clusterIP} jump mark-for-masquerade`);
      else if (cfg.clusterCidr)
        rules.push(`${ip} daddr ${clusterIP} ${ip} saddr != ${cfg.clusterCidr} jump mark-for-masquerade`);
    }
    chainsOf(out).set(chain, rules);
    if (sp.affinitySeconds <= 0) {
      const targets = new Array<string>(list.length);
      for (let i = 0; i < list.length; i++) targets[i] = `${list[i]!.ip} . ${list[i]!.port}`;
      if (out.spreads === NO_SPREADS) out.spreads = new Map();
      out.spreads.set(chain, { shard, proto, targets });
      return;
    }
    const targets = list.map((e) => {
      const to = fam === 'IPv4' ? `${e.ip}:${e.port}` : `[${e.ip}]:${e.port}`;
      const b = endpointBase(sp, e);
      // The timeout is part of the set's hash: a new timeout is a new set (an existing set's timeout
      // cannot be changed), swapped in by the same transaction that rewrites the chains using it.
      const affinity = `affinity-${hash16(`${b}${sp.affinitySeconds}`).slice(0, 8)}-${b.slice(9)}`;
      if (out.sets === NO_SETS) out.sets = new Map();
      out.sets.set(affinity, sp.affinitySeconds);
      return { dnat: `update @${affinity} { ${ip} saddr } meta l4proto ${proto} dnat to ${to}`, affinity };
    });
    for (const t of targets) rules.push(`${ip} saddr @${t.affinity} ${t.dnat}`);
    // An even spread as a cascade: endpoint i taken with probability 1/(N-i), as the iptables
    // statistic chain (not `numgen ... vmap { ... }`: the header).
    targets.forEach((t, i) => {
      const left = targets.length - i;
      rules.push(left > 1 ? `numgen random mod ${left} == 0 ${t.dnat}` : t.dnat);
    });
  };
  if (clusterEps.length > 0 && !plain) policyChain(svc, clusterEps, !sp.internalPolicyLocal);
  if (localEps.length > 0) policyChain(loc, localEps, false);
  // Hairpin pairs only for endpoints on this node (or of unknown node): a pod can reach itself
  // through a service only from the node it runs on, where this proxy's nat postrouting sees it.
  let hairpin: Set<string> | undefined;
  for (const list of [clusterEps, localEps])
    for (const e of list)
      if (e.nodeName === cfg.nodeName || e.nodeName === '') (hairpin ??= new Set()).add(e.ip);
  for (const a of hairpin ?? []) el('hairpin', `${a} . ${a}`, '');
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
  /** The shared maps and sets: name -> kind and type. */
  maps: Map<NftMapName, { kind: 'map' | 'set'; type: string }>;
  /** The endpoint maps (nftEndpointMap): name -> declaration body. */
  endpointMaps: Map<string, string>;
  baseChains: NftBaseChain[];
  chains: Map<string, string[]>;
} {
  const ip = nftFamily(cfg.family);
  const addr = cfg.family === 'IPv4' ? 'ipv4_addr' : 'ipv6_addr';
  const maps = new Map<NftMapName, { kind: 'map' | 'set'; type: string }>([
    ['service-ips', { kind: 'map', type: `${addr} . inet_proto . inet_service : verdict` }],
    ['service-nodeports', { kind: 'map', type: 'inet_proto . inet_service : verdict' }],
    ['firewall-ips', { kind: 'map', type: `${addr} . inet_proto . inet_service : verdict` }],
    ['no-endpoint-services', { kind: 'map', type: `${addr} . inet_proto . inet_service : verdict` }],
    ['no-endpoint-nodeports', { kind: 'map', type: 'inet_proto . inet_service : verdict' }],
    ['hairpin', { kind: 'set', type: `${addr} . ${addr}` }],
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
  // (A CIDR list that covers loopback, e.g. from the `localhost` or `all` keywords, still never
  // matches it.)
  const cidrs = cfg.nodePortAddresses?.filter((c) => ipFamilyOf(c.split('/')[0]!) === cfg.family);
  const loopback = cfg.family === 'IPv4' ? '127.0.0.0/8' : '::1';
  const coversLoopback = cidrs?.some((c) => cidrContains(c, cfg.family === 'IPv4' ? '127.0.0.1' : '::1'));
  const nodePortMatch = cfg.nodePortAddresses
    ? `${ip} daddr { ${cidrs?.length ? cidrs.join(', ') : cfg.family === 'IPv4' ? '0.0.0.0/32' : '::/128'} } fib daddr type local${coversLoopback ? ` ${ip} daddr != ${loopback}` : ''}`
    : `fib daddr type local ${ip} daddr != ${loopback}`;
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
        // Hairpin: a connection DNATed back to its own source.
        `ct status dnat ${ip} saddr . ${ip} daddr @hairpin jump mark-for-masquerade`,
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
  const endpointMaps = new Map<string, string>();
  for (let i = 0; i < (cfg.endpointShards ?? NFT_ENDPOINT_SHARDS); i++)
    endpointMaps.set(nftEndpointMap(i), nftEndpointMapSpec(cfg.family));
  return { maps, endpointMaps, baseChains, chains };
}
