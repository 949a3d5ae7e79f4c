/**
 * Printers of Ingress, IngressClass (networking.k8s.io/v1), EndpointSlice (discovery.k8s.io/v1)
 * and Lease (coordination.k8s.io/v1).
 */
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Ingress, IngressClass, IngressRule } from 'kubernetes-types/networking/v1.js';
import { loadBalancerText } from './core-printers.js';
import { age } from './duration.js';
import { listWithMore } from './format.js';
import { AGE_COLUMN, column, NAME_COLUMN, type Printer } from './table.js';

const MAX = 3;

/** The first three rule hosts, `* ` when no rule names one. */
function ingressHosts(rules: readonly IngressRule[] | undefined): string {
  const list = rules ?? [];
  const hosts: string[] = [];
  let more = false;
  for (const rule of list) {
    if (hosts.length === MAX) more = true;
    if (!more && rule.host) hosts.push(rule.host);
  }
  if (hosts.length === 0) return '*';
  const text = hosts.join(',');
  return more ? `${text} + ${list.length - MAX} more...` : text;
}

export const ingressPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('Class', 'The name of the IngressClass resource that should be used for additional configuration'),
    column('Hosts', 'Hosts that incoming requests are matched against before the ingress rule'),
    column('Address', 'Address is a list containing ingress points for the load-balancer'),
    column('Ports', 'Ports of TLS configurations that open'),
    AGE_COLUMN,
  ],
  row: (ing: Ingress, { now, wide }) => ({
    cells: [
      ing.metadata?.name ?? '',
      ing.spec?.ingressClassName ?? '<none>',
      ingressHosts(ing.spec?.rules),
      loadBalancerText(ing.status?.loadBalancer, wide),
      (ing.spec?.tls ?? []).length > 0 ? '80, 443' : '80',
      age(ing.metadata?.creationTimestamp, now),
    ],
  }),
};

export const ingressClassPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('Controller', 'Controller that is responsible for handling this class'),
    column('Parameters', 'A reference to a resource with additional parameters'),
    AGE_COLUMN,
  ],
  row: (ic: IngressClass, { now }) => {
    const p = ic.spec?.parameters;
    const params =
      p === undefined ? '<none>' : `${p.kind}${p.apiGroup != null ? `.${p.apiGroup}` : ''}/${p.name}`;
    return {
      cells: [
        ic.metadata?.name ?? '',
        ic.spec?.controller ?? '',
        params,
        age(ic.metadata?.creationTimestamp, now),
      ],
    };
  },
};

function slicePorts(es: EndpointSlice): string {
  const ports = es.ports ?? [];
  const shown = ports.slice(0, MAX).map((p) => (p.port != null ? String(p.port) : (p.name ?? '*')));
  return listWithMore(shown, ports.length, '<unset>');
}

function sliceEndpoints(es: EndpointSlice): string {
  const all = (es.endpoints ?? []).flatMap((e) => e.addresses);
  return listWithMore(all.slice(0, MAX), all.length, '<unset>');
}

export const endpointSlicePrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('AddressType', 'Type of address carried by this EndpointSlice.'),
    column('Ports', 'Network ports exposed by each endpoint of this slice.'),
    column('Endpoints', 'Addresses of the endpoints of this slice.'),
    AGE_COLUMN,
  ],
  row: (es: EndpointSlice, { now }) => ({
    cells: [
      es.metadata?.name ?? '',
      es.addressType ?? '',
      slicePorts(es),
      sliceEndpoints(es),
      age(es.metadata?.creationTimestamp, now),
    ],
  }),
};

export const leasePrinter: Printer = {
  columns: [NAME_COLUMN, column('Holder', 'Identity of the current holder of the lease.'), AGE_COLUMN],
  row: (l: Lease, { now }) => ({
    cells: [l.metadata?.name ?? '', l.spec?.holderIdentity ?? '', age(l.metadata?.creationTimestamp, now)],
  }),
};
