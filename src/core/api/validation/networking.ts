/**
 * Endpoints, EndpointSlice, Ingress and IngressClass validation.
 *
 * Unlike upstream, endpoint addresses in the loopback range are accepted: k8ts's rootless mode gives
 * pods 127.x addresses on the host network, and those must be publishable.
 */
import { isIP } from 'node:net';
import type { EndpointPort, Endpoints } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Ingress, IngressBackend, IngressClass } from 'kubernetes-types/networking/v1.js';
import {
  duplicate,
  type FieldError,
  invalid,
  notSupported,
  required,
  tooLong,
  tooMany,
} from '../field-error.js';
import { validateEnum, validateImmutable, validateLabels, validateProtocol } from './common.js';
import {
  isDNS1035Label,
  isDNS1123Label,
  isDNS1123Subdomain,
  isQualifiedName,
  isValidIP,
  isValidIPv4,
  isValidIPv6,
  isValidPortName,
  isValidPortNum,
  isWildcardDNS1123Subdomain,
} from './names.js';
import { validateLoadBalancerIngress } from './service.js';

/** Addresses no endpoint may have: unspecified, link-local, link-local multicast. */
function specialIPErrors(ip: string): string[] {
  const fam = isIP(ip);
  if (fam === 4) {
    if (ip === '0.0.0.0') return ['may not be unspecified (0.0.0.0)'];
    if (ip.startsWith('169.254.')) return ['may not be in the link-local range (169.254.0.0/16, fe80::/10)'];
    if (ip.startsWith('224.0.0.'))
      return ['may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)'];
  } else if (fam === 6) {
    const low = ip.toLowerCase();
    if (low === '::') return ['may not be unspecified (::)'];
    if (/^fe[89ab]/.test(low)) return ['may not be in the link-local range (169.254.0.0/16, fe80::/10)'];
    if (low.startsWith('ff02:'))
      return ['may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)'];
  }
  return [];
}

function validateEndpointPort(port: EndpointPort, requireName: boolean, p: string): FieldError[] {
  const errs: FieldError[] = [];
  if (requireName && !port.name) errs.push(required(`${p}.name`, ''));
  else if (port.name)
    for (const m of isDNS1123Label(port.name)) errs.push(invalid(`${p}.name`, port.name, m));
  for (const m of isValidPortNum(port.port)) errs.push(invalid(`${p}.port`, port.port, m));
  errs.push(...validateProtocol(port.protocol, `${p}.protocol`));
  if (port.appProtocol)
    for (const m of isQualifiedName(port.appProtocol))
      errs.push(invalid(`${p}.appProtocol`, port.appProtocol, m));
  return errs;
}

/** Endpoints: subset addresses are IPs, ports valid and named when there are several. */
export function validateEndpoints(ep: Endpoints): FieldError[] {
  const errs: FieldError[] = [];
  (ep.subsets ?? []).forEach((ss, i) => {
    const sp = `subsets[${i}]`;
    const addrs = [
      ...(ss.addresses ?? []).map((a) => ['addresses', a] as const),
      ...(ss.notReadyAddresses ?? []).map((a) => ['notReadyAddresses', a] as const),
    ];
    if (addrs.length === 0) errs.push(required(sp, 'must specify `addresses` or `notReadyAddresses`'));
    const counters: Record<string, number> = { addresses: 0, notReadyAddresses: 0 };
    for (const [kind, a] of addrs) {
      const ap = `${sp}.${kind}[${counters[kind]!++}]`;
      const msgs = isValidIP(a.ip);
      for (const m of msgs) errs.push(invalid(`${ap}.ip`, a.ip, m));
      if (msgs.length === 0) for (const m of specialIPErrors(a.ip)) errs.push(invalid(`${ap}.ip`, a.ip, m));
      if (a.hostname)
        for (const m of isDNS1123Label(a.hostname)) errs.push(invalid(`${ap}.hostname`, a.hostname, m));
      if (a.nodeName)
        for (const m of isDNS1123Subdomain(a.nodeName)) errs.push(invalid(`${ap}.nodeName`, a.nodeName, m));
    }
    const ports = ss.ports ?? [];
    for (const [j, port] of ports.entries()) {
      errs.push(...validateEndpointPort(port, ports.length > 1, `${sp}.ports[${j}]`));
    }
  });
  return errs;
}

/** An EndpointSlice: addressType, per-type addresses, endpoint and port limits. */
export function validateEndpointSlice(es: EndpointSlice): FieldError[] {
  const errs: FieldError[] = [];
  const types = ['FQDN', 'IPv4', 'IPv6'];
  errs.push(...validateEnum(es.addressType, types, 'addressType'));
  const eps = es.endpoints ?? [];
  if (eps.length > 1000) errs.push(tooMany('endpoints', eps.length, 1000));
  eps.forEach((e, i) => {
    const p = `endpoints[${i}]`;
    const addrs = e.addresses ?? [];
    if (addrs.length === 0) errs.push(required(`${p}.addresses`, 'must contain at least 1 address'));
    else if (addrs.length > 100) errs.push(tooMany(`${p}.addresses`, addrs.length, 100));
    addrs.forEach((a, j) => {
      const ap = `${p}.addresses[${j}]`;
      let msgs: string[] = [];
      if (es.addressType === 'IPv4') msgs = isValidIPv4(a);
      else if (es.addressType === 'IPv6') msgs = isValidIPv6(a);
      else if (es.addressType === 'FQDN') msgs = isDNS1123Subdomain(a);
      for (const m of msgs) errs.push(invalid(ap, a, m));
      if (msgs.length === 0 && es.addressType !== 'FQDN')
        for (const m of specialIPErrors(a)) errs.push(invalid(ap, a, m));
    });
    if (e.hostname)
      for (const m of isDNS1123Label(e.hostname)) errs.push(invalid(`${p}.hostname`, e.hostname, m));
    if (e.nodeName)
      for (const m of isDNS1123Subdomain(e.nodeName)) errs.push(invalid(`${p}.nodeName`, e.nodeName, m));
    errs.push(...validateLabels(e.deprecatedTopology, `${p}.deprecatedTopology`));
  });
  const ports = es.ports ?? [];
  if (ports.length > 20000) errs.push(tooMany('ports', ports.length, 20000));
  const names = new Set<string>();
  ports.forEach((port, i) => {
    const p = `ports[${i}]`;
    const name = port.name ?? '';
    if (name !== '') for (const m of isDNS1123Label(name)) errs.push(invalid(`${p}.name`, name, m));
    if (names.has(name)) errs.push(duplicate(`${p}.name`, name));
    names.add(name);
    if (port.port !== undefined && port.port !== null) {
      for (const m of isValidPortNum(port.port)) errs.push(invalid(`${p}.port`, port.port, m));
    }
    errs.push(...validateProtocol(port.protocol, `${p}.protocol`));
    if (port.appProtocol)
      for (const m of isQualifiedName(port.appProtocol))
        errs.push(invalid(`${p}.appProtocol`, port.appProtocol, m));
  });
  return errs;
}

/** An EndpointSlice update: addressType is immutable. */
export function validateEndpointSliceUpdate(es: EndpointSlice, old: EndpointSlice): FieldError[] {
  return [...validateEndpointSlice(es), ...validateImmutable(es.addressType, old.addressType, 'addressType')];
}

function validateBackend(b: IngressBackend, p: string): FieldError[] {
  const errs: FieldError[] = [];
  const hasService = b.service != null;
  const hasResource = b.resource != null;
  if (hasService && hasResource) return [invalid(p, '', 'cannot set both resource and service backends')];
  if (hasService) {
    const svc = b.service!;
    if (!svc.name) errs.push(required(`${p}.service.name`, ''));
    else for (const m of isDNS1035Label(svc.name)) errs.push(invalid(`${p}.service.name`, svc.name, m));
    const hasName = !!svc.port?.name;
    const hasNumber = svc.port?.number !== undefined && svc.port.number !== 0;
    if (hasName && hasNumber) errs.push(invalid(p, '', 'cannot set both port name & port number'));
    else if (hasName) {
      for (const m of isValidPortName(svc.port!.name!))
        errs.push(invalid(`${p}.service.port.name`, svc.port!.name, m));
    } else if (hasNumber) {
      for (const m of isValidPortNum(svc.port!.number))
        errs.push(invalid(`${p}.service.port.number`, svc.port!.number, m));
    } else {
      errs.push(required(`${p}.service.port`, 'port name or number is required'));
    }
  } else if (hasResource) {
    const r = b.resource!;
    if (!r.kind) errs.push(required(`${p}.resource.kind`, ''));
    if (!r.name) errs.push(required(`${p}.resource.name`, ''));
  } else {
    errs.push(invalid(p, '', 'resource or service backend is required'));
  }
  return errs;
}

function validateHost(host: string, p: string): FieldError[] {
  const errs: FieldError[] = [];
  if (isIP(host) !== 0) errs.push(invalid(p, host, 'must be a DNS name, not an IP address'));
  const msgs = host.includes('*') ? isWildcardDNS1123Subdomain(host) : isDNS1123Subdomain(host);
  for (const m of msgs) errs.push(invalid(p, host, m));
  return errs;
}

const INVALID_PATH_SEQUENCES = ['//', '/./', '/../', '%2f', '%2F'];
const INVALID_PATH_SUFFIXES = ['/..', '/.'];

function validatePath(path: string | undefined, pathType: string | undefined, p: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!pathType) return [required(`${p}.pathType`, 'pathType must be specified')];
  const types = ['Exact', 'ImplementationSpecific', 'Prefix'];
  if (!types.includes(pathType)) return [notSupported(`${p}.pathType`, pathType, types)];
  const v = path ?? '';
  if (pathType === 'ImplementationSpecific') {
    if (v !== '' && !v.startsWith('/')) errs.push(invalid(`${p}.path`, v, 'must be an absolute path'));
    return errs;
  }
  if (!v.startsWith('/')) return [invalid(`${p}.path`, v, 'must be an absolute path')];
  for (const seq of INVALID_PATH_SEQUENCES) {
    if (v.includes(seq)) errs.push(invalid(`${p}.path`, v, `must not contain '${seq}'`));
  }
  for (const suf of INVALID_PATH_SUFFIXES) {
    if (v.endsWith(suf)) errs.push(invalid(`${p}.path`, v, `cannot end with '${suf}'`));
  }
  return errs;
}

/** An Ingress: rules (hosts, paths, pathType), backends and TLS hosts. */
export function validateIngress(ing: Ingress): FieldError[] {
  const errs: FieldError[] = [];
  const spec = ing.spec ?? {};
  const rules = spec.rules ?? [];
  if (spec.defaultBackend == null && rules.length === 0) {
    errs.push(invalid('spec.rules', rules, 'either `defaultBackend` or `rules` must be specified'));
  }
  if (spec.defaultBackend != null) errs.push(...validateBackend(spec.defaultBackend, 'spec.defaultBackend'));
  rules.forEach((r, i) => {
    const rp = `spec.rules[${i}]`;
    if (r.host) errs.push(...validateHost(r.host, `${rp}.host`));
    if (r.http == null) return;
    const paths = r.http.paths ?? [];
    if (paths.length === 0) errs.push(required(`${rp}.http.paths`, ''));
    paths.forEach((hp, j) => {
      const pp = `${rp}.http.paths[${j}]`;
      errs.push(...validatePath(hp.path, hp.pathType, pp));
      if (hp.backend == null) errs.push(required(`${pp}.backend`, ''));
      else errs.push(...validateBackend(hp.backend, `${pp}.backend`));
    });
  });
  (spec.tls ?? []).forEach((t, i) => {
    for (const [j, h] of (t.hosts ?? []).entries())
      errs.push(...validateHost(h, `spec.tls[${i}].hosts[${j}]`));
    if (t.secretName)
      for (const m of isDNS1123Subdomain(t.secretName))
        errs.push(invalid(`spec.tls[${i}].secretName`, t.secretName, m));
  });
  if (spec.ingressClassName) {
    for (const m of isDNS1123Subdomain(spec.ingressClassName))
      errs.push(invalid('spec.ingressClassName', spec.ingressClassName, m));
  }
  return errs;
}

/** An Ingress create additionally forbids the legacy class annotation next to `ingressClassName`. */
export function validateIngressCreate(ing: Ingress): FieldError[] {
  const errs = validateIngress(ing);
  const ann = ing.metadata?.annotations?.['kubernetes.io/ingress.class'];
  if (ann !== undefined && ing.spec?.ingressClassName) {
    errs.push(
      invalid(
        'annotations.kubernetes.io/ingress.class',
        ann,
        'can not be set when the class field is also set',
      ),
    );
  }
  return errs;
}

/** An Ingress status write. */
export function validateIngressStatus(ing: Ingress): FieldError[] {
  return validateLoadBalancerIngress(ing.status?.loadBalancer?.ingress, 'status.loadBalancer.ingress');
}

const CONTROLLER_MAX = 250;

/** An IngressClass: controller is a required domain-prefixed path; parameters are complete. */
export function validateIngressClass(ic: IngressClass): FieldError[] {
  const errs: FieldError[] = [];
  const ctrl = ic.spec?.controller ?? '';
  if (ctrl === '') errs.push(required('spec.controller', ''));
  else if (ctrl.length > CONTROLLER_MAX) errs.push(tooLong('spec.controller', '', CONTROLLER_MAX));
  else {
    const slash = ctrl.indexOf('/');
    const domain = slash < 0 ? '' : ctrl.slice(0, slash);
    if (slash < 0 || isDNS1123Subdomain(domain).length > 0 || ctrl.slice(slash + 1) === '') {
      errs.push(invalid('spec.controller', ctrl, 'must be a domain-prefixed path (such as "acme.io/foo")'));
    }
  }
  const params = ic.spec?.parameters;
  if (params != null) {
    const p = 'spec.parameters';
    if (!params.kind) errs.push(required(`${p}.kind`, ''));
    if (!params.name) errs.push(required(`${p}.name`, ''));
    const scope = params.scope;
    if (scope !== undefined && scope !== 'Cluster' && scope !== 'Namespace') {
      errs.push(notSupported(`${p}.scope`, scope, ['Cluster', 'Namespace']));
    }
    if (scope === 'Namespace' && !params.namespace) {
      errs.push(required(`${p}.namespace`, "`parameters.scope` is set to 'Namespace'"));
    }
    if (scope === 'Cluster' && params.namespace) {
      errs.push(invalid(`${p}.namespace`, params.namespace, "`parameters.scope` is set to 'Cluster'"));
    }
  }
  return errs;
}

/** An IngressClass update: the controller is immutable. */
export function validateIngressClassUpdate(ic: IngressClass, old: IngressClass): FieldError[] {
  return [
    ...validateIngressClass(ic),
    ...validateImmutable(ic.spec?.controller ?? '', old.spec?.controller ?? '', 'spec.controller'),
  ];
}
