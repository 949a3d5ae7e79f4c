/**
 * The meta.k8s.io/v1 Table types and the printer contract. A printer names its columns (priority
 * 1 = shown by `kubectl get -o wide` only) and turns one object into the cells of all of them.
 */

export interface TableColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

export interface TableRowCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface TableRow {
  cells: unknown[];
  conditions?: TableRowCondition[];
  /** Absent when the request asked for includeObject=None. */
  object?: object;
}

export interface ListMetaFields {
  resourceVersion?: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface Table {
  kind: 'Table';
  apiVersion: 'meta.k8s.io/v1';
  metadata: ListMetaFields;
  columnDefinitions: TableColumnDefinition[];
  rows: TableRow[];
}

export interface PrintedRow {
  cells: unknown[];
  conditions?: TableRowCondition[];
}

export interface Printer {
  columns: TableColumnDefinition[];
  /** One cell per column, wide columns included. `wide` only changes how some cells are clipped. */
  row(obj: any, ctx: { now: Date; wide: boolean }): PrintedRow;
}

export interface ColumnOptions {
  /** OpenAPI type of the cells: `string` (default), `integer`, `date`, `boolean`. */
  type?: string;
  /** 1 marks a wide-only column. */
  priority?: number;
  format?: string;
}

/** A column definition. */
export function column(name: string, description: string, opts: ColumnOptions = {}): TableColumnDefinition {
  return {
    name,
    type: opts.type ?? 'string',
    format: opts.format ?? '',
    description,
    priority: opts.priority ?? 0,
  };
}

export const NAME_COLUMN = column(
  'Name',
  'Name must be unique within a namespace. It identifies the object and cannot be updated.',
  { format: 'name' },
);

export const AGE_COLUMN = column('Age', 'Time since the server created the object (creationTimestamp).');

export const CONTAINERS_COLUMN = column('Containers', 'Names of each container in the template.', {
  priority: 1,
});
export const IMAGES_COLUMN = column('Images', 'Images referenced by each container in the template.', {
  priority: 1,
});
export const SELECTOR_COLUMN = column('Selector', 'Label query over the pods this object manages.', {
  priority: 1,
});
