/** REST paths of resources, as every client builds them. */
import type { ResourceInfo } from '../api/resources.js';

/** Collection path of a resource (cluster-wide, or in one namespace). */
export function collectionPath(info: ResourceInfo, namespace?: string): string {
  const base = info.group ? `/apis/${info.group}/${info.version}` : `/api/${info.version}`;
  return info.namespaced && namespace
    ? `${base}/namespaces/${namespace}/${info.plural}`
    : `${base}/${info.plural}`;
}

/** Path of one object, optionally a subresource of it. */
export function objectPath(
  info: ResourceInfo,
  namespace: string | undefined,
  name: string,
  subresource?: string,
): string {
  const p = `${collectionPath(info, namespace)}/${name}`;
  return subresource ? `${p}/${subresource}` : p;
}
