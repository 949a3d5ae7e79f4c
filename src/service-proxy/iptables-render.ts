/**
 * Pure rendering of kube-proxy's iptables mode for one IP family: one service port -> its own
 * nat chains (KUBE-SVC/SVL/EXT/FW/SEP) plus its lines in the shared dispatch chains (nat
 * KUBE-SERVICES and KUBE-NODEPORTS, filter KUBE-SERVICES, KUBE-EXTERNAL-SERVICES, KUBE-NODEPORTS,
 * KUBE-PROXY-FIREWALL). The proxier (iptables-proxier.ts) caches these per service port so a
 * partial sync renders only what changed.
 *
 * Semantics (upstream's): traffic to a ClusterIP goes to the internal policy chain, traffic to a
 * NodePort / externalIP / LB IP to KUBE-EXT (or KUBE-FW first when loadBalancerSourceRanges are
 * set). Only ready endpoints are used; serving+terminating ones only when none is ready. A port
 * with no endpoint at all is REJECTed in filter; one with endpoints but none local under a Local
 * policy is DROPped. Off-cluster sources to a ClusterIP, all external traffic under policy Cluster
 * and hairpin (an endpoint reaching itself) get the masquerade mark.
 */
import { extChain, fwChain, sepChain, svcChain, svlChain } from './chain-names.js';
import { cidrContains } from './cidr.js';
import {
  type EndpointInfo,
  endpointString,
  type IpFamily,
  ipFamilyOf,
  type ServicePortInfo,
} from './model.js';

/** Node-wide settings of one family's rendering. */
export interface RenderConfig {
  family: IpFamily;
  /** This node's name: endpoints with this nodeName are local. */
  nodeName: string;
  /** Pod network of this family (off-cluster traffic to a ClusterIP is masqueraded); undefined: none. */
  clusterCidr?: string | undefined;
  /** Masquerade every ClusterIP connection (kube-proxy --masquerade-all). */
  masqueradeAll?: boolean | undefined;
  /**
   * kube-proxy's --nodeport-addresses: NodePorts only on local addresses inside these CIDRs (a bare
   * address is a host prefix); undefined means every local address (`-m addrtype --dst-type LOCAL`).
   */
  nodePortAddresses?: readonly string[] | undefined;
  /** Accept NodePorts on 127.0.0.0/8 (IPv4 only; needs route_localnet), upstream's default true. */
  localhostNodePorts?: boolean | undefined;
}

export const MASQ_MARK = '0x4000';

/** The rendering of one service port for one family. */
export interface RenderedServicePort {
  /** `namespace/name` of the service. */
  service: string;
  /** nat chains owned by this service port: name -> rules (full `-A` lines). */
  chains: Map<string, string[]>;
  natServices: string[];
  natNodePorts: string[];
  filterServices: string[];
  filterExternal: string[];
  filterNodePorts: string[];
  filterFirewall: string[];
}

function hostMask(family: IpFamily): string {
  return family === 'IPv4' ? '/32' : '/128';
}

function cidrFamily(c: string): IpFamily {
  return ipFamilyOf(c.split('/')[0]!);
}

/** `"..."` comment match. */
function comment(text: string): string {
  return `-m comment --comment "${text.replace(/"/g, "'")}"`;
}

function probability(n: number): string {
  return (1 / n).toFixed(10);
}

/** Endpoints a policy chain uses: the ready ones, else the serving terminating ones. */
export function usableEndpoints(eps: readonly EndpointInfo[]): readonly EndpointInfo[] {
  let ready = 0;
  for (const e of eps) if (e.ready) ready++;
  // The common case (every endpoint ready) without a copy: callers only read the result.
  if (ready === eps.length) return eps;
  return ready > 0 ? eps.filter((e) => e.ready) : eps.filter((e) => e.serving && e.terminating);
}

/** What both kernel modes derive from one service port for one IP family and this node. */
export interface FamilyView {
  externalIPs: string[];
  lbIPs: string[];
  sourceRanges: string[];
  /** Reachable from outside the node: a NodePort, externalIPs or load-balancer IPs. */
  externallyAccessible: boolean;
  /** Endpoints of the cluster-wide policy chain (empty when no chain uses it). */
  clusterEps: readonly EndpointInfo[];
  /** Usable endpoints on this node (empty when no Local policy uses them). */
  localEps: readonly EndpointInfo[];
  /** Endpoints exist somewhere (reject when none; drop when only a Local policy leaves none here). */
  hasEndpoints: boolean;
  hasInternal: boolean;
  hasExternal: boolean;
}

/** Endpoint choice per traffic policy, as kube-proxy makes it (pure; shared by both kernel modes). */
export function familyView(
  sp: ServicePortInfo,
  allEndpoints: readonly EndpointInfo[],
  opts: { family: IpFamily; nodeName: string },
): FamilyView {
  const fam = opts.family;
  const externalIPs = sp.externalIPs.filter((ip) => ipFamilyOf(ip) === fam);
  const lbIPs = sp.loadBalancerIPs.filter((ip) => ipFamilyOf(ip) === fam);
  const sourceRanges = sp.loadBalancerSourceRanges.filter((r) => cidrFamily(r) === fam);
  const externallyAccessible = sp.nodePort > 0 || externalIPs.length > 0 || lbIPs.length > 0;
  const eps = allEndpoints.every((e) => ipFamilyOf(e.ip) === fam)
    ? allEndpoints
    : allEndpoints.filter((e) => ipFamilyOf(e.ip) === fam);
  const usesCluster = !sp.internalPolicyLocal || externallyAccessible;
  const usesLocal = sp.internalPolicyLocal || sp.externalPolicyLocal;
  const clusterEps = usesCluster ? usableEndpoints(eps) : [];
  const localEps = usesLocal ? usableEndpoints(eps.filter((e) => e.nodeName === opts.nodeName)) : [];
  const hasEndpoints =
    clusterEps.length > 0 || localEps.length > 0 || (eps.length > 0 && usableEndpoints(eps).length > 0);
  return {
    externalIPs,
    lbIPs,
    sourceRanges,
    externallyAccessible,
    clusterEps,
    localEps,
    hasEndpoints,
    hasInternal: sp.internalPolicyLocal ? localEps.length > 0 : clusterEps.length > 0,
    hasExternal: sp.externalPolicyLocal ? localEps.length > 0 : clusterEps.length > 0,
  };
}

/** Render one service port (undefined when it has no ClusterIP of this family). */
export function renderServicePort(
  sp: ServicePortInfo,
  allEndpoints: readonly EndpointInfo[],
  cfg: RenderConfig,
): RenderedServicePort | undefined {
  const fam = cfg.family;
  const clusterIP = sp.clusterIPs.find((ip) => ipFamilyOf(ip) === fam);
  if (!clusterIP) return undefined;
  const mask = hostMask(fam);
  const proto = sp.protocol.toLowerCase();
  const portMatch = `-p ${proto} -m ${proto} --dport ${sp.port}`;
  const view = familyView(sp, allEndpoints, { family: fam, nodeName: cfg.nodeName });
  const { externalIPs, lbIPs, sourceRanges, externallyAccessible, clusterEps, localEps } = view;
  const { hasEndpoints, hasInternal, hasExternal } = view;

  const svc = svcChain(sp.name, sp.protocol);
  const svl = svlChain(sp.name, sp.protocol);
  const ext = extChain(sp.name, sp.protocol);
  const fw = fwChain(sp.name, sp.protocol);
  const out: RenderedServicePort = {
    service: sp.service,
    chains: new Map(),
    natServices: [],
    natNodePorts: [],
    filterServices: [],
    filterExternal: [],
    filterNodePorts: [],
    filterFirewall: [],
  };
  const internalChain = sp.internalPolicyLocal ? svl : svc;

  // ClusterIP.
  if (hasInternal) {
    out.natServices.push(
      `-A KUBE-SERVICES ${comment(`${sp.name} cluster IP`)} -d ${clusterIP}${mask} ${portMatch} -j ${internalChain}`,
    );
  } else {
    const target = hasEndpoints ? 'DROP' : 'REJECT';
    const why = hasEndpoints ? 'has no local endpoints' : 'has no endpoints';
    out.filterServices.push(
      `-A KUBE-SERVICES ${comment(`${sp.name} ${why}`)} -d ${clusterIP}${mask} ${portMatch} -j ${target}`,
    );
  }

  // External destinations: externalIPs, LB IPs, NodePort.
  const extTarget = hasEndpoints ? 'DROP' : 'REJECT';
  const extWhy = hasEndpoints ? 'has no local endpoints' : 'has no endpoints';
  for (const ip of externalIPs) {
    if (hasExternal)
      out.natServices.push(
        `-A KUBE-SERVICES ${comment(`${sp.name} external IP`)} -d ${ip}${mask} ${portMatch} -j ${ext}`,
      );
    else
      out.filterExternal.push(
        `-A KUBE-EXTERNAL-SERVICES ${comment(`${sp.name} ${extWhy}`)} -d ${ip}${mask} ${portMatch} -j ${extTarget}`,
      );
  }
  for (const ip of lbIPs) {
    if (hasExternal)
      out.natServices.push(
        `-A KUBE-SERVICES ${comment(`${sp.name} loadbalancer IP`)} -d ${ip}${mask} ${portMatch} -j ${sourceRanges.length ? fw : ext}`,
      );
    else
      out.filterExternal.push(
        `-A KUBE-EXTERNAL-SERVICES ${comment(`${sp.name} ${extWhy}`)} -d ${ip}${mask} ${portMatch} -j ${extTarget}`,
      );
    if (sourceRanges.length)
      // Accepted sources were DNATed in nat PREROUTING, so whatever still targets the LB IP here was refused.
      out.filterFirewall.push(
        `-A KUBE-PROXY-FIREWALL ${comment(`${sp.name} traffic not accepted by ${fw}`)} -d ${ip}${mask} ${portMatch} -j DROP`,
      );
  }
  if (sp.nodePort > 0) {
    const npMatch = `-p ${proto} -m ${proto} --dport ${sp.nodePort}`;
    if (hasExternal) out.natNodePorts.push(`-A KUBE-NODEPORTS ${comment(sp.name)} ${npMatch} -j ${ext}`);
    else
      out.filterExternal.push(
        `-A KUBE-EXTERNAL-SERVICES ${comment(`${sp.name} ${extWhy}`)} -m addrtype --dst-type LOCAL ${npMatch} -j ${extTarget}`,
      );
  }
  if (sp.healthCheckNodePort > 0)
    out.filterNodePorts.push(
      `-A KUBE-NODEPORTS ${comment(`${sp.name} health check node port`)} -p tcp -m tcp --dport ${sp.healthCheckNodePort} -j ACCEPT`,
    );

  // KUBE-FW: loadBalancerSourceRanges (and the LB IPs themselves, for traffic a node sends via the LB).
  if (hasExternal && lbIPs.length && sourceRanges.length) {
    const rules: string[] = [];
    for (const r of sourceRanges)
      rules.push(`-A ${fw} ${comment(`${sp.name} loadbalancer IP`)} -s ${r} -j ${ext}`);
    for (const ip of lbIPs)
      rules.push(`-A ${fw} ${comment(`${sp.name} loadbalancer IP`)} -s ${ip}${mask} -j ${ext}`);
    out.chains.set(fw, rules);
  }

  // KUBE-EXT.
  if (hasExternal && externallyAccessible) {
    const rules: string[] = [];
    if (sp.externalPolicyLocal) {
      if (cfg.clusterCidr)
        rules.push(
          `-A ${ext} ${comment(`pod traffic for ${sp.name} external destinations`)} -s ${cfg.clusterCidr} -j ${svc}`,
        );
      rules.push(
        `-A ${ext} ${comment(`masquerade LOCAL traffic for ${sp.name} external destinations`)} -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ`,
      );
      rules.push(
        `-A ${ext} ${comment(`route LOCAL traffic for ${sp.name} external destinations`)} -m addrtype --src-type LOCAL -j ${svc}`,
      );
      rules.push(`-A ${ext} -j ${svl}`);
    } else {
      rules.push(
        `-A ${ext} ${comment(`masquerade traffic for ${sp.name} external destinations`)} -j KUBE-MARK-MASQ`,
      );
      rules.push(`-A ${ext} -j ${svc}`);
    }
    out.chains.set(ext, rules);
  }

  // Policy chains and endpoint chains.
  const seps = new Map<string, EndpointInfo>();
  const policyChain = (chain: string, list: readonly EndpointInfo[], masqRule: boolean) => {
    const rules: string[] = [];
    if (masqRule) {
      if (cfg.masqueradeAll)
        rules.push(
          `-A ${chain} ${comment(`${sp.name} cluster IP`)} -d ${clusterIP}${mask} ${portMatch} -j KUBE-MARK-MASQ`,
        );
      else if (cfg.clusterCidr)
        rules.push(
          `-A ${chain} ${comment(`${sp.name} cluster IP`)} ! -s ${cfg.clusterCidr} -d ${clusterIP}${mask} ${portMatch} -j KUBE-MARK-MASQ`,
        );
    }
    const names = list.map((e) => {
      const s = endpointString(e);
      const n = sepChain(sp.name, sp.protocol, s);
      seps.set(n, e);
      return [n, s] as const;
    });
    if (sp.affinitySeconds > 0)
      for (const [n, s] of names)
        rules.push(
          `-A ${chain} ${comment(`${sp.name} -> ${s}`)} -m recent --name ${n} --mask ${fam === 'IPv4' ? '255.255.255.255' : 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'} --rsource --rcheck --seconds ${sp.affinitySeconds} --reap -j ${n}`,
        );
    names.forEach(([n, s], i) => {
      const left = names.length - i;
      rules.push(
        left > 1
          ? `-A ${chain} ${comment(`${sp.name} -> ${s}`)} -m statistic --mode random --probability ${probability(left)} -j ${n}`
          : `-A ${chain} ${comment(`${sp.name} -> ${s}`)} -j ${n}`,
      );
    });
    out.chains.set(chain, rules);
  };
  if (clusterEps.length > 0) policyChain(svc, clusterEps, !sp.internalPolicyLocal);
  if (localEps.length > 0) policyChain(svl, localEps, false);
  for (const [n, e] of seps) {
    const rules = [`-A ${n} ${comment(sp.name)} -s ${e.ip}${mask} -j KUBE-MARK-MASQ`];
    const recent =
      sp.affinitySeconds > 0
        ? ` -m recent --name ${n} --mask ${fam === 'IPv4' ? '255.255.255.255' : 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'} --rsource --set`
        : '';
    rules.push(
      `-A ${n} ${comment(sp.name)}${recent} -p ${proto} -m ${proto} -j DNAT --to-destination ${endpointString(e)}`,
    );
    out.chains.set(n, rules);
  }
  return out;
}

/** The fixed chains and rules every sync writes (with the dispatch chains' per-service lines). */
export function baseRules(cfg: RenderConfig): {
  nat: Map<string, string[]>;
  filter: Map<string, string[]>;
} {
  const localhost = cfg.family === 'IPv4' ? '127.0.0.0/8' : '::1/128';
  const nodePortsLast = comment(
    'kubernetes service nodeports; NOTE: this must be the last rule in this chain',
  );
  const localhostOk = localhostNodePortsOn(cfg);
  const nodePortJumps = cfg.nodePortAddresses
    ? cfg.nodePortAddresses
        .filter((a) => ipFamilyOf(a) === cfg.family)
        .map(
          (a) =>
            `-A KUBE-SERVICES ${nodePortsLast} -d ${a.includes('/') ? a : a + hostMask(cfg.family)} -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS`,
        )
    : [
        localhostOk
          ? `-A KUBE-SERVICES ${nodePortsLast} -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS`
          : `-A KUBE-SERVICES ${nodePortsLast} -m addrtype --dst-type LOCAL ! -d ${localhost} -j KUBE-NODEPORTS`,
      ];
  const nat = new Map<string, string[]>([
    ['KUBE-SERVICES', nodePortJumps],
    ['KUBE-NODEPORTS', []],
    [
      'KUBE-POSTROUTING',
      [
        `-A KUBE-POSTROUTING -m mark ! --mark ${MASQ_MARK}/${MASQ_MARK} -j RETURN`,
        `-A KUBE-POSTROUTING -j MARK --xor-mark ${MASQ_MARK}`,
        `-A KUBE-POSTROUTING ${comment('kubernetes service traffic requiring SNAT')} -j MASQUERADE --random-fully`,
      ],
    ],
    ['KUBE-MARK-MASQ', [`-A KUBE-MARK-MASQ -j MARK --or-mark ${MASQ_MARK}`]],
  ]);
  const filter = new Map<string, string[]>([
    ['KUBE-SERVICES', []],
    ['KUBE-EXTERNAL-SERVICES', []],
    [
      'KUBE-FORWARD',
      [
        '-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP',
        `-A KUBE-FORWARD ${comment('kubernetes forwarding rules')} -m mark --mark ${MASQ_MARK}/${MASQ_MARK} -j ACCEPT`,
        `-A KUBE-FORWARD ${comment('kubernetes forwarding conntrack rule')} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
      ],
    ],
    ['KUBE-NODEPORTS', []],
    ['KUBE-PROXY-FIREWALL', []],
    [
      'KUBE-FIREWALL',
      localhostOk
        ? [
            `-A KUBE-FIREWALL ${comment('block incoming localnet connections')} -d ${localhost} ! -s ${localhost} -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP`,
          ]
        : [],
    ],
  ]);
  return { nat, filter };
}

/** A jump from a built-in chain into ours, ensured (inserted first if missing) on full syncs. */
export interface JumpRule {
  table: 'nat' | 'filter';
  chain: string;
  /** The rule spec without `-A CHAIN`, in iptables-save's canonical order. */
  spec: string;
}

/** The jumps from built-in chains that kube-proxy installs. */
export const JUMP_RULES: readonly JumpRule[] = [
  { table: 'nat', chain: 'PREROUTING', spec: `${comment('kubernetes service portals')} -j KUBE-SERVICES` },
  { table: 'nat', chain: 'OUTPUT', spec: `${comment('kubernetes service portals')} -j KUBE-SERVICES` },
  {
    table: 'nat',
    chain: 'POSTROUTING',
    spec: `${comment('kubernetes postrouting rules')} -j KUBE-POSTROUTING`,
  },
  {
    table: 'filter',
    chain: 'INPUT',
    spec: `-m conntrack --ctstate NEW ${comment('kubernetes load balancer firewall')} -j KUBE-PROXY-FIREWALL`,
  },
  {
    table: 'filter',
    chain: 'INPUT',
    spec: `${comment('kubernetes health check service ports')} -j KUBE-NODEPORTS`,
  },
  {
    table: 'filter',
    chain: 'INPUT',
    spec: `-m conntrack --ctstate NEW ${comment('kubernetes externally-visible service portals')} -j KUBE-EXTERNAL-SERVICES`,
  },
  { table: 'filter', chain: 'INPUT', spec: '-j KUBE-FIREWALL' },
  {
    table: 'filter',
    chain: 'FORWARD',
    spec: `-m conntrack --ctstate NEW ${comment('kubernetes load balancer firewall')} -j KUBE-PROXY-FIREWALL`,
  },
  { table: 'filter', chain: 'FORWARD', spec: `${comment('kubernetes forwarding rules')} -j KUBE-FORWARD` },
  {
    table: 'filter',
    chain: 'FORWARD',
    spec: `-m conntrack --ctstate NEW ${comment('kubernetes service portals')} -j KUBE-SERVICES`,
  },
  {
    table: 'filter',
    chain: 'FORWARD',
    spec: `-m conntrack --ctstate NEW ${comment('kubernetes externally-visible service portals')} -j KUBE-EXTERNAL-SERVICES`,
  },
  {
    table: 'filter',
    chain: 'OUTPUT',
    spec: `-m conntrack --ctstate NEW ${comment('kubernetes load balancer firewall')} -j KUBE-PROXY-FIREWALL`,
  },
  {
    table: 'filter',
    chain: 'OUTPUT',
    spec: `-m conntrack --ctstate NEW ${comment('kubernetes service portals')} -j KUBE-SERVICES`,
  },
  { table: 'filter', chain: 'OUTPUT', spec: '-j KUBE-FIREWALL' },
];

/**
 * NodePorts on 127.0.0.1 (IPv4 only, as upstream; needs route_localnet): unless turned off, when
 * --nodeport-addresses is unset or includes a loopback CIDR (e.g. its `localhost` keyword).
 */
export function localhostNodePortsOn(cfg: {
  family: IpFamily;
  localhostNodePorts?: boolean | undefined;
  nodePortAddresses?: readonly string[] | undefined;
}): boolean {
  if (cfg.family !== 'IPv4' || cfg.localhostNodePorts === false) return false;
  return !cfg.nodePortAddresses || cfg.nodePortAddresses.some((c) => cidrContains(c, '127.0.0.1'));
}
