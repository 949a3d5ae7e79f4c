/**
 * The pure name parser of the cluster zone (CoreDNS's parseRequest, in our words): what a name
 * below `<zone>` asks for. Names are lower-cased labels without the zone, leftmost first.
 */
import { isIPv4, isIPv6 } from 'node:net';

export type ClusterName =
  | { kind: 'apex' }
  | { kind: 'dns-version' }
  | { kind: 'nameserver' }
  | {
      kind: 'svc';
      namespace?: string;
      service?: string;
      /** The endpoint hostname label of a headless service record. */
      endpoint?: string;
      /** SRV port name and protocol, without their underscores. */
      port?: string;
      protocol?: string;
    }
  | { kind: 'pod'; namespace?: string; ip?: string }
  | { kind: 'invalid' };

/** Classify the labels of a name below the cluster zone. */
export function parseClusterName(labels: readonly string[]): ClusterName {
  const n = labels.length;
  if (n === 0) return { kind: 'apex' };
  if (n === 1 && labels[0] === 'dns-version') return { kind: 'dns-version' };
  if (n === 2 && labels[0] === 'ns' && labels[1] === 'dns') return { kind: 'nameserver' };
  const last = labels[n - 1];
  if (last === 'svc') {
    const [a, b, c, d] = labels;
    switch (n) {
      case 1:
        return { kind: 'svc' };
      case 2:
        return { kind: 'svc', namespace: a! };
      case 3:
        return { kind: 'svc', namespace: b!, service: a! };
      case 4:
        if (a!.startsWith('_')) return { kind: 'svc', namespace: c!, service: b!, protocol: a!.slice(1) };
        return { kind: 'svc', namespace: c!, service: b!, endpoint: a! };
      case 5:
        if (!a!.startsWith('_') || !b!.startsWith('_')) return { kind: 'invalid' };
        return { kind: 'svc', namespace: d!, service: c!, port: a!.slice(1), protocol: b!.slice(1) };
      default:
        return { kind: 'invalid' };
    }
  }
  if (last === 'pod') {
    if (n === 1) return { kind: 'pod' };
    if (n === 2) return { kind: 'pod', namespace: labels[0]! };
    if (n === 3) {
      const ip = podIpFromLabel(labels[0]!);
      return ip ? { kind: 'pod', namespace: labels[1]!, ip } : { kind: 'invalid' };
    }
  }
  return { kind: 'invalid' };
}

/** The IP of a dashed pod label (`10-42-0-5`, `fd00--5`), or undefined. */
export function podIpFromLabel(label: string): string | undefined {
  if (label.includes('.')) return undefined;
  const v4 = label.replaceAll('-', '.');
  if (isIPv4(v4) && label.split('-').every((p) => p === String(Number(p)))) return v4;
  const v6 = label.replaceAll('-', ':');
  if (isIPv6(v6) && !v6.includes('.')) return v6;
  return undefined;
}

/** The dashed label of an IP (the endpoint hostname when a headless endpoint has none). */
export function dashedIp(ip: string): string {
  return ip.replaceAll('.', '-').replaceAll(':', '-');
}
