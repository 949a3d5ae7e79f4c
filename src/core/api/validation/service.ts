/**
 * Service validation (upstream ValidateService / ValidateServiceUpdate), for the fields k8ts serves.
 * The NodePort range is checked by the allocator, not here.
 */

import { isIP } from 'node:net';
import type { Service } from 'kubernetes-types/core/v1.js';
import {
  duplicate,
  type FieldError,
  forbidden,
  GoValue,
  goStringSlice,
  invalid,
  notSupported,
  required,
} from '../field-error.js';
import {
  FIELD_IMMUTABLE_MSG,
  validateEnum,
  validateLabels,
  validatePortNumOrName,
  validateProtocol,
} from './common.js';
import {
  isDNS1123Label,
  isDNS1123Subdomain,
  isQualifiedName,
  isValidCIDR,
  isValidIP,
  isValidPortNum,
} from './names.js';

const SERVICE_TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];

function externallyAccessible(s: Service): boolean {
  const t = s.spec?.type;
  return (
    t === 'LoadBalancer' || t === 'NodePort' || (t === 'ClusterIP' && (s.spec?.externalIPs ?? []).length > 0)
  );
}

/** A Service being created (or the new object of an update). */
export function validateService(svc: Service): FieldError[] {
  const errs: FieldError[] = [];
  const spec = svc.spec;
  if (spec === undefined) return [required('spec', '')];
  const type = spec.type ?? 'ClusterIP';
  const headless = spec.clusterIP === 'None';
  const ports = spec.ports ?? [];
  if (ports.length === 0 && !headless && type !== 'ExternalName') errs.push(required('spec.ports', ''));
  if (!SERVICE_TYPES.includes(type)) errs.push(notSupported('spec.type', type, SERVICE_TYPES));

  if (type === 'ExternalName') {
    if (spec.clusterIP) errs.push(forbidden('spec.clusterIP', 'may not be set for ExternalName services'));
    if ((spec.clusterIPs ?? []).length > 0)
      errs.push(forbidden('spec.clusterIPs', 'may not be set for ExternalName services'));
    if ((spec.ipFamilies ?? []).length > 0)
      errs.push(forbidden('spec.ipFamilies', 'may not be set for ExternalName services'));
    if (spec.ipFamilyPolicy)
      errs.push(forbidden('spec.ipFamilyPolicy', 'may not be set for ExternalName services'));
    const name = (spec.externalName ?? '').replace(/\.$/, '');
    if (!spec.externalName) errs.push(required('spec.externalName', ''));
    else
      for (const m of isDNS1123Subdomain(name)) errs.push(invalid('spec.externalName', spec.externalName, m));
  } else {
    errs.push(...validateClusterIPs(svc));
  }

  const names = new Set<string>();
  const nodePorts = new Set<string>();
  ports.forEach((sp, i) => {
    const pp = `spec.ports[${i}]`;
    if (ports.length > 1 && !sp.name) errs.push(required(`${pp}.name`, ''));
    else if (sp.name) {
      for (const m of isDNS1123Label(sp.name)) errs.push(invalid(`${pp}.name`, sp.name, m));
      if (names.has(sp.name)) errs.push(duplicate(`${pp}.name`, sp.name));
      names.add(sp.name);
    }
    for (const m of isValidPortNum(sp.port)) errs.push(invalid(`${pp}.port`, sp.port, m));
    errs.push(...validateProtocol(sp.protocol, `${pp}.protocol`));
    if (sp.targetPort !== undefined) errs.push(...validatePortNumOrName(sp.targetPort, `${pp}.targetPort`));
    if (sp.appProtocol)
      for (const m of isQualifiedName(sp.appProtocol))
        errs.push(invalid(`${pp}.appProtocol`, sp.appProtocol, m));
    if (sp.nodePort !== undefined && sp.nodePort !== 0) {
      if (type === 'ClusterIP')
        errs.push(forbidden(`${pp}.nodePort`, "may not be used when `type` is 'ClusterIP'"));
      for (const m of isValidPortNum(sp.nodePort)) errs.push(invalid(`${pp}.nodePort`, sp.nodePort, m));
      const key = `${sp.protocol ?? 'TCP'}/${sp.nodePort}`;
      if (nodePorts.has(key)) errs.push(duplicate(`${pp}.nodePort`, sp.nodePort));
      nodePorts.add(key);
    }
  });

  errs.push(...validateLabels(spec.selector, 'spec.selector'));
  errs.push(...validateEnum(spec.sessionAffinity, ['ClientIP', 'None'], 'spec.sessionAffinity'));
  const timeout = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
  if (spec.sessionAffinity === 'ClientIP') {
    if (timeout !== undefined && !(timeout > 0 && timeout <= 86400)) {
      errs.push(
        invalid(
          'spec.sessionAffinityConfig.clientIP.timeoutSeconds',
          timeout,
          'must be greater than 0 and less than 86400',
        ),
      );
    }
  } else if (spec.sessionAffinityConfig?.clientIP != null) {
    errs.push(
      invalid(
        'spec.sessionAffinityConfig',
        new GoValue('core.SessionAffinityConfig{...}'),
        `must not be set when session affinity is ${spec.sessionAffinity ?? ''}`,
      ),
    );
  }
  (spec.externalIPs ?? []).forEach((ip, i) => {
    for (const m of isValidIP(ip)) errs.push(invalid(`spec.externalIPs[${i}]`, ip, m));
  });
  if (!externallyAccessible(svc)) {
    if (spec.externalTrafficPolicy) {
      errs.push(
        invalid(
          'spec.externalTrafficPolicy',
          spec.externalTrafficPolicy,
          'may only be set for externally-accessible services',
        ),
      );
    }
  } else {
    errs.push(
      ...validateEnum(spec.externalTrafficPolicy, ['Cluster', 'Local'], 'spec.externalTrafficPolicy'),
    );
  }
  if (spec.healthCheckNodePort !== undefined && spec.healthCheckNodePort !== 0) {
    if (type !== 'LoadBalancer' || spec.externalTrafficPolicy !== 'Local') {
      errs.push(
        invalid(
          'spec.healthCheckNodePort',
          spec.healthCheckNodePort,
          "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
        ),
      );
    } else {
      for (const m of isValidPortNum(spec.healthCheckNodePort))
        errs.push(invalid('spec.healthCheckNodePort', spec.healthCheckNodePort, m));
    }
  }
  if (type !== 'ExternalName') {
    errs.push(
      ...validateEnum(spec.internalTrafficPolicy, ['Cluster', 'Local'], 'spec.internalTrafficPolicy'),
    );
  }
  if (type === 'LoadBalancer') {
    if (spec.allocateLoadBalancerNodePorts === undefined)
      errs.push(required('spec.allocateLoadBalancerNodePorts', ''));
  } else if (spec.allocateLoadBalancerNodePorts !== undefined) {
    errs.push(
      forbidden('spec.allocateLoadBalancerNodePorts', "may only be used when `type` is 'LoadBalancer'"),
    );
  }
  if (spec.loadBalancerClass !== undefined && type !== 'LoadBalancer') {
    errs.push(forbidden('spec.loadBalancerClass', "may only be used when `type` is 'LoadBalancer'"));
  }
  (spec.loadBalancerSourceRanges ?? []).forEach((r, i) => {
    if (type !== 'LoadBalancer') return;
    for (const m of isValidCIDR(r.trim())) errs.push(invalid(`spec.loadBalancerSourceRanges[${i}]`, r, m));
  });
  return errs;
}

function validateClusterIPs(svc: Service): FieldError[] {
  const errs: FieldError[] = [];
  const spec = svc.spec!;
  const ips = spec.clusterIPs ?? [];
  if (spec.clusterIP && ips.length > 0 && ips[0] !== spec.clusterIP) {
    errs.push(
      invalid('spec.clusterIPs', new GoValue(goStringSlice(ips)), 'first value must match `clusterIP`'),
    );
  }
  if (ips.length > 2)
    errs.push(invalid('spec.clusterIPs', new GoValue(goStringSlice(ips)), 'may only hold up to 2 values'));
  ips.forEach((ip, i) => {
    if (ip === 'None') {
      if (i !== 0 || ips.length > 1)
        errs.push(invalid(`spec.clusterIPs[${i}]`, ip, "must be empty when the first value is 'None'"));
      return;
    }
    for (const m of isValidIP(ip)) errs.push(invalid(`spec.clusterIPs[${i}]`, ip, m));
  });
  if (ips.length === 0 && spec.clusterIP && spec.clusterIP !== 'None') {
    for (const m of isValidIP(spec.clusterIP)) errs.push(invalid('spec.clusterIP', spec.clusterIP, m));
  }
  if (ips.length === 2 && isIP(ips[0]!) !== 0 && isIP(ips[0]!) === isIP(ips[1]!)) {
    errs.push(
      invalid(
        'spec.clusterIPs',
        new GoValue(goStringSlice(ips)),
        'may specify no more than one IP for each IP family',
      ),
    );
  }
  const fams = spec.ipFamilies ?? [];
  const seen = new Set<string>();
  fams.forEach((f, i) => {
    if (f !== 'IPv4' && f !== 'IPv6') errs.push(notSupported(`spec.ipFamilies[${i}]`, f, ['IPv4', 'IPv6']));
    if (seen.has(f)) errs.push(duplicate(`spec.ipFamilies[${i}]`, f));
    seen.add(f);
  });
  if (fams.length > 2)
    errs.push(invalid('spec.ipFamilies', new GoValue(goStringSlice(fams)), 'may only hold up to 2 values'));
  const policies = ['PreferDualStack', 'RequireDualStack', 'SingleStack'];
  if (spec.ipFamilyPolicy !== undefined && !policies.includes(spec.ipFamilyPolicy)) {
    errs.push(notSupported('spec.ipFamilyPolicy', spec.ipFamilyPolicy, policies));
  }
  if (spec.ipFamilyPolicy === 'SingleStack' && (fams.length > 1 || ips.length > 1)) {
    errs.push(
      invalid(
        'spec.ipFamilyPolicy',
        spec.ipFamilyPolicy,
        "must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified",
      ),
    );
  }
  ips.forEach((ip, i) => {
    const fam = isIP(ip) === 4 ? 'IPv4' : isIP(ip) === 6 ? 'IPv6' : undefined;
    const want = fams[i];
    if (fam !== undefined && want !== undefined && fam !== want) {
      errs.push(
        invalid(
          `spec.clusterIPs[${i}]`,
          ip,
          `expected an ${want} value as indicated by \`ipFamilies[${i}]\``,
        ),
      );
    }
  });
  return errs;
}

/** A Service update: the allocated clusterIP cannot change, except to or from ExternalName. */
export function validateServiceUpdate(svc: Service, old: Service): FieldError[] {
  const errs = validateService(svc);
  const ns = svc.spec ?? {};
  const os = old.spec ?? {};
  const external = ns.type === 'ExternalName' || os.type === 'ExternalName';
  if (!external && os.clusterIP) {
    if ((ns.clusterIP ?? '') !== os.clusterIP) {
      errs.push(invalid('spec.clusterIP', ns.clusterIP ?? '', FIELD_IMMUTABLE_MSG));
    } else if ((os.clusterIPs ?? []).length > 0 && (ns.clusterIPs ?? [])[0] !== os.clusterIPs?.[0]) {
      errs.push(
        invalid('spec.clusterIPs[0]', new GoValue(goStringSlice(ns.clusterIPs)), 'may not change once set'),
      );
    }
  }
  if (!external && (os.ipFamilies ?? []).length > 0 && (ns.ipFamilies ?? [])[0] !== os.ipFamilies?.[0]) {
    errs.push(invalid('spec.ipFamilies[0]', ns.ipFamilies?.[0] ?? '', 'may not change once set'));
  }
  return errs;
}

/** A Service status write: load balancer ingress entries carry IPs or hostnames. */
export function validateServiceStatus(svc: Service): FieldError[] {
  return validateLoadBalancerIngress(svc.status?.loadBalancer?.ingress, 'status.loadBalancer.ingress');
}

/** `status.loadBalancer.ingress` of a Service or Ingress. */
export function validateLoadBalancerIngress(
  ingress: { ip?: string; hostname?: string; ipMode?: string }[] | undefined,
  p: string,
): FieldError[] {
  const errs: FieldError[] = [];
  (ingress ?? []).forEach((ing, i) => {
    if (ing.ip) for (const m of isValidIP(ing.ip)) errs.push(invalid(`${p}[${i}].ip`, ing.ip, m));
    if (ing.hostname) {
      for (const m of isDNS1123Subdomain(ing.hostname))
        errs.push(invalid(`${p}[${i}].hostname`, ing.hostname, m));
      if (isIP(ing.hostname) !== 0)
        errs.push(invalid(`${p}[${i}].hostname`, ing.hostname, 'must be a DNS name, not an IP address'));
    }
    if (ing.ipMode !== undefined && ing.ipMode !== 'VIP' && ing.ipMode !== 'Proxy') {
      errs.push(notSupported(`${p}[${i}].ipMode`, ing.ipMode, ['Proxy', 'VIP']));
    }
  });
  return errs;
}
