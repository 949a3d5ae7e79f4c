/**
 * The `service.beta.kubernetes.io/aws-load-balancer-*` annotations users rely on most, read into
 * one plan of listeners and target groups (one per service port), as cloud-provider-aws builds
 * its NLB port mappings. Pure: the reconciler applies the result.
 */
import type { Service, ServicePort } from 'kubernetes-types/core/v1.js';
import { CloudConfigError } from '../../errors.js';

const P = 'service.beta.kubernetes.io/aws-load-balancer-';
export const AWS_ANNOTATIONS = {
  type: `${P}type`,
  internal: `${P}internal`,
  scheme: `${P}scheme`,
  nlbTargetType: `${P}nlb-target-type`,
  subnets: `${P}subnets`,
  sslCert: `${P}ssl-cert`,
  sslPorts: `${P}ssl-ports`,
  sslPolicy: `${P}ssl-negotiation-policy`,
  backendProtocol: `${P}backend-protocol`,
  additionalTags: `${P}additional-resource-tags`,
  targetGroupAttributes: `${P}target-group-attributes`,
  crossZone: `${P}cross-zone-load-balancing-enabled`,
  eipAllocations: `${P}eip-allocations`,
  hcProtocol: `${P}healthcheck-protocol`,
  hcPort: `${P}healthcheck-port`,
  hcPath: `${P}healthcheck-path`,
  hcInterval: `${P}healthcheck-interval`,
  hcTimeout: `${P}healthcheck-timeout`,
  hcHealthy: `${P}healthcheck-healthy-threshold`,
  hcUnhealthy: `${P}healthcheck-unhealthy-threshold`,
} as const;

export type ElbProtocol = 'TCP' | 'UDP' | 'TLS' | 'TCP_UDP';

export interface HealthCheck {
  protocol: 'TCP' | 'HTTP' | 'HTTPS';
  /** A port number or `traffic-port`. */
  port: string;
  /** Only for HTTP(S). */
  path?: string | undefined;
  intervalSeconds: number;
  timeoutSeconds: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
}

/** One listener and its target group. */
export interface PortMapping {
  /** The service port's name (or its number), for messages. */
  portName: string;
  /** The service port's name ('' if unnamed): how EndpointSlice ports refer to it. */
  servicePortName: string;
  frontendPort: number;
  frontendProtocol: ElbProtocol;
  /** NodePort for instance targets, the pod port for ip targets. */
  trafficPort: number;
  trafficProtocol: ElbProtocol;
  certificateArn?: string | undefined;
  sslPolicy?: string | undefined;
  healthCheck: HealthCheck;
}

export interface AwsLbConfig {
  /** True when the annotations hand the service to the AWS Load Balancer Controller. */
  implementedElsewhere: boolean;
  internal: boolean;
  targetType: 'instance' | 'ip';
  /** Subnet IDs or Name tags from the annotation (else discovered). */
  subnets?: string[] | undefined;
  eipAllocations?: string[] | undefined;
  additionalTags: Record<string, string>;
  targetGroupAttributes: Record<string, string>;
  crossZone?: boolean | undefined;
  mappings: PortMapping[];
}

/** "k1=v1,k2=v2" (also "k" and "k=") into a map. */
export function keyValueList(s: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (s ?? '').split(',')) {
    const t = part.trim();
    if (!t) continue;
    const eq = t.indexOf('=');
    const k = (eq < 0 ? t : t.slice(0, eq)).trim();
    if (k) out[k] = eq < 0 ? '' : t.slice(eq + 1).trim();
  }
  return out;
}

function list(s: string | undefined): string[] | undefined {
  const v = (s ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  return v.length ? v : undefined;
}

function int(ann: Record<string, string>, key: string, dflt: number, min: number, max: number): number {
  const raw = ann[key];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new CloudConfigError(`annotation ${key}: want an integer in [${min}, ${max}], got "${raw}"`);
  return n;
}

function bool(ann: Record<string, string>, key: string): boolean | undefined {
  const raw = ann[key];
  if (raw === undefined || raw === '') return undefined;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw new CloudConfigError(`annotation ${key}: want true or false, got "${raw}"`);
}

/** Is this port a TLS listener (ssl-ports lists its name or number, or "*"; default: all)? */
function isSslPort(p: ServicePort, sslPorts: string[] | undefined): boolean {
  if (!sslPorts || sslPorts.includes('*')) return true;
  return sslPorts.includes(String(p.port)) || (!!p.name && sslPorts.includes(p.name));
}

/**
 * The health check of a port: for externalTrafficPolicy Local the service proxy's
 * healthCheckNodePort over HTTP at /healthz (only nodes with a ready local endpoint pass), else TCP
 * on the traffic port; the healthcheck-* annotations override each field.
 */
function healthCheck(svc: Service, ann: Record<string, string>, ipTargets: boolean): HealthCheck {
  const local = svc.spec?.externalTrafficPolicy === 'Local' && svc.spec.healthCheckNodePort && !ipTargets;
  const protocol = (ann[AWS_ANNOTATIONS.hcProtocol]?.toUpperCase() ??
    (local ? 'HTTP' : 'TCP')) as HealthCheck['protocol'];
  if (!['TCP', 'HTTP', 'HTTPS'].includes(protocol))
    throw new CloudConfigError(
      `annotation ${AWS_ANNOTATIONS.hcProtocol}: want TCP, HTTP or HTTPS, got "${protocol}"`,
    );
  const port =
    ann[AWS_ANNOTATIONS.hcPort] ?? (local ? String(svc.spec!.healthCheckNodePort) : 'traffic-port');
  if (port !== 'traffic-port' && !/^\d+$/.test(port))
    throw new CloudConfigError(
      `annotation ${AWS_ANNOTATIONS.hcPort}: want a port or traffic-port, got "${port}"`,
    );
  return {
    protocol,
    port,
    path: protocol === 'TCP' ? undefined : (ann[AWS_ANNOTATIONS.hcPath] ?? (local ? '/healthz' : '/')),
    intervalSeconds: int(ann, AWS_ANNOTATIONS.hcInterval, local ? 10 : 30, 5, 300),
    timeoutSeconds: int(ann, AWS_ANNOTATIONS.hcTimeout, local ? 6 : 10, 2, 120),
    healthyThreshold: int(ann, AWS_ANNOTATIONS.hcHealthy, local ? 2 : 3, 2, 10),
    unhealthyThreshold: int(ann, AWS_ANNOTATIONS.hcUnhealthy, local ? 2 : 3, 2, 10),
  };
}

/** Read a service's annotations and ports into the load balancer plan. */
export function awsLbConfig(svc: Service): AwsLbConfig {
  const ann = svc.metadata?.annotations ?? {};
  const type = ann[AWS_ANNOTATIONS.type];
  const implementedElsewhere = type === 'external' || type === 'nlb-ip';
  if (type && !implementedElsewhere && type !== 'nlb')
    throw new CloudConfigError(
      `annotation ${AWS_ANNOTATIONS.type}: k8ts builds Network Load Balancers only (nlb), got "${type}"`,
    );
  const scheme = ann[AWS_ANNOTATIONS.scheme];
  if (scheme && scheme !== 'internal' && scheme !== 'internet-facing')
    throw new CloudConfigError(
      `annotation ${AWS_ANNOTATIONS.scheme}: want internal or internet-facing, got "${scheme}"`,
    );
  const internalAnn = ann[AWS_ANNOTATIONS.internal];
  const internal = scheme ? scheme === 'internal' : internalAnn !== undefined && internalAnn !== 'false';
  const targetType = (ann[AWS_ANNOTATIONS.nlbTargetType] ?? 'instance') as AwsLbConfig['targetType'];
  if (targetType !== 'instance' && targetType !== 'ip')
    throw new CloudConfigError(
      `annotation ${AWS_ANNOTATIONS.nlbTargetType}: want instance or ip, got "${targetType}"`,
    );
  const cert = ann[AWS_ANNOTATIONS.sslCert];
  const sslPorts = list(ann[AWS_ANNOTATIONS.sslPorts]);
  const backend = ann[AWS_ANNOTATIONS.backendProtocol]?.toLowerCase();
  const hc = healthCheck(svc, ann, targetType === 'ip');
  const mappings: PortMapping[] = [];
  for (const p of svc.spec?.ports ?? []) {
    const proto = (p.protocol ?? 'TCP').toUpperCase();
    if (proto === 'SCTP') throw new CloudConfigError(`port ${p.name ?? p.port}: NLBs do not support SCTP`);
    const tls = proto === 'TCP' && !!cert && isSslPort(p, sslPorts);
    let trafficPort: number;
    if (targetType === 'ip') {
      // The target group's default port; each pod target carries its own (named targetPorts too).
      trafficPort = typeof p.targetPort === 'number' ? p.targetPort : p.port;
    } else {
      if (!p.nodePort) throw new CloudConfigError(`port ${p.name ?? p.port} has no nodePort yet`);
      trafficPort = p.nodePort;
    }
    mappings.push({
      portName: p.name || String(p.port),
      servicePortName: p.name ?? '',
      frontendPort: p.port,
      frontendProtocol: tls ? 'TLS' : (proto as ElbProtocol),
      trafficPort,
      trafficProtocol:
        tls && (backend === 'ssl' || backend === 'tls' || backend === 'https')
          ? 'TLS'
          : (proto as ElbProtocol),
      certificateArn: tls ? cert : undefined,
      sslPolicy: tls ? (ann[AWS_ANNOTATIONS.sslPolicy] ?? 'ELBSecurityPolicy-2016-08') : undefined,
      healthCheck: hc,
    });
  }
  return {
    implementedElsewhere,
    internal,
    targetType,
    subnets: list(ann[AWS_ANNOTATIONS.subnets]),
    eipAllocations: list(ann[AWS_ANNOTATIONS.eipAllocations]),
    additionalTags: keyValueList(ann[AWS_ANNOTATIONS.additionalTags]),
    targetGroupAttributes: keyValueList(ann[AWS_ANNOTATIONS.targetGroupAttributes]),
    crossZone: bool(ann, AWS_ANNOTATIONS.crossZone),
    mappings,
  };
}
