/**
 * Server-side printing: turns objects of a resource into a meta.k8s.io/v1 Table, the answer to
 * `Accept: application/json;as=Table;v=v1;g=meta.k8s.io` that `kubectl get` sends. Columns and
 * cells follow upstream's printers; kinds without a printer get the default NAME / CREATED AT
 * table. The API server should pass `wide: true` (upstream always prints wide on the server and
 * kubectl drops the priority-1 columns itself).
 */
import { apiVersionOf, type ResourceInfo } from '../resources.js';
import { csrPrinter } from './certificate-printers.js';
import {
  configMapPrinter,
  endpointsPrinter,
  eventPrinter,
  namespacePrinter,
  nodePrinter,
  secretPrinter,
  serviceAccountPrinter,
  servicePrinter,
} from './core-printers.js';
import {
  endpointSlicePrinter,
  ingressClassPrinter,
  ingressPrinter,
  leasePrinter,
} from './network-printers.js';
import { podPrinter } from './pod-printer.js';
import {
  column,
  type ListMetaFields,
  NAME_COLUMN,
  type Printer,
  type Table,
  type TableRow,
} from './table.js';
import {
  controllerRevisionPrinter,
  cronJobPrinter,
  daemonSetPrinter,
  deploymentPrinter,
  jobPrinter,
  replicaSetPrinter,
  statefulSetPrinter,
} from './workload-printers.js';

export type { Table, TableColumnDefinition, TableRow, TableRowCondition } from './table.js';

export interface TableOptions {
  /** Include priority-1 (`-o wide`) columns and cells; the API server passes true. */
  wide: boolean;
  /** What each row carries in `object` (the includeObject query parameter). */
  includeObject: 'None' | 'Object' | 'Metadata';
  now: Date;
  /** resourceVersion / continue of the list the rows came from. */
  listMeta?: ListMetaFields;
}

const PRINTERS: Record<string, Printer> = {
  'v1/Namespace': namespacePrinter,
  'v1/Pod': podPrinter,
  'v1/Service': servicePrinter,
  'v1/Endpoints': endpointsPrinter,
  'v1/Node': nodePrinter,
  'v1/ConfigMap': configMapPrinter,
  'v1/Secret': secretPrinter,
  'v1/ServiceAccount': serviceAccountPrinter,
  'v1/Event': eventPrinter,
  'apps/v1/Deployment': deploymentPrinter,
  'apps/v1/ReplicaSet': replicaSetPrinter,
  'apps/v1/DaemonSet': daemonSetPrinter,
  'apps/v1/StatefulSet': statefulSetPrinter,
  'batch/v1/Job': jobPrinter,
  'batch/v1/CronJob': cronJobPrinter,
  'networking.k8s.io/v1/Ingress': ingressPrinter,
  'networking.k8s.io/v1/IngressClass': ingressClassPrinter,
  'discovery.k8s.io/v1/EndpointSlice': endpointSlicePrinter,
  'coordination.k8s.io/v1/Lease': leasePrinter,
  'apps/v1/ControllerRevision': controllerRevisionPrinter,
  'certificates.k8s.io/v1/CertificateSigningRequest': csrPrinter,
};

/** RFC 3339 in UTC without fractional seconds, as Go's time.RFC3339 writes it. */
function rfc3339(ts: string | undefined): string {
  if (!ts) return '';
  const t = Date.parse(ts);
  return Number.isNaN(t) ? ts : new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The default table of kinds without a printer (upstream's default table convertor). */
const DEFAULT_PRINTER: Printer = {
  columns: [
    NAME_COLUMN,
    column(
      'Created At',
      'CreationTimestamp is a timestamp representing the server time when this object was created.',
      { type: 'date' },
    ),
  ],
  row: (obj: { metadata?: { name?: string; creationTimestamp?: string } }) => ({
    cells: [obj.metadata?.name ?? '', rfc3339(obj.metadata?.creationTimestamp)],
  }),
};

/** The printer of a resource's kind, or the default one. */
export function printerFor(info: Pick<ResourceInfo, 'group' | 'version' | 'kind'>): Printer {
  return PRINTERS[`${apiVersionOf(info)}/${info.kind}`] ?? DEFAULT_PRINTER;
}

function rowObject(obj: object, include: TableOptions['includeObject']): object | undefined {
  if (include === 'None') return undefined;
  if (include === 'Object') return obj;
  const metadata = (obj as { metadata?: object }).metadata ?? {};
  return { apiVersion: 'meta.k8s.io/v1', kind: 'PartialObjectMetadata', metadata };
}

/** A meta.k8s.io/v1 Table of the objects (one row each, in order) of the resource `info`. */
export function tableFor(info: ResourceInfo, objects: readonly object[], opts: TableOptions): Table {
  const printer = printerFor(info);
  const keep = printer.columns.map((c) => opts.wide || c.priority === 0);
  const ctx = { now: opts.now, wide: opts.wide };
  const rows = objects.map((obj): TableRow => {
    const printed = printer.row(obj, ctx);
    const row: TableRow = { cells: opts.wide ? printed.cells : printed.cells.filter((_, i) => keep[i]) };
    if (printed.conditions !== undefined) row.conditions = printed.conditions;
    const object = rowObject(obj, opts.includeObject);
    if (object !== undefined) row.object = object;
    return row;
  });
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { ...opts.listMeta },
    columnDefinitions: printer.columns.filter((_, i) => keep[i]).map((c) => ({ ...c })),
    rows,
  };
}
