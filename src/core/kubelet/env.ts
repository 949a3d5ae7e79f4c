/**
 * A container's environment, free of I/O: service variables, then envFrom, then env (later wins),
 * with `$(VAR)` references expanded as upstream does (`$$` escapes, unknown references stay as
 * written). ConfigMaps and Secrets are looked up through the given functions; a missing one that is
 * not optional is a ConfigRefError (the container waits with CreateContainerConfigError).
 */

import { parseQuantity } from '../api/validation/quantity.js';
import type { KObj } from '../client/informer.js';
import { ConfigRefError } from './errors.js';
import { serviceEnvForPod } from './service-env.js';

export interface EnvContext {
  configMap(namespace: string, name: string): KObj | undefined;
  secret(namespace: string, name: string): KObj | undefined;
  /** Every Service the kubelet knows (filtered per namespace here). */
  services: KObj[];
  podIP: string;
  hostIP: string;
  /** Node allocatable (for resourceFieldRef of limits that are not set). */
  nodeAllocatable?: Record<string, string> | undefined;
}

/** Expand `$(NAME)` references with `vars`; `$$(NAME)` yields a literal `$(NAME)`. */
export function expandVars(input: string, vars: (name: string) => string | undefined): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const ch = input[i]!;
    if (ch !== '$' || i + 1 >= input.length) {
      out += ch;
      continue;
    }
    const next = input[i + 1]!;
    if (next === '$') {
      out += '$';
      i++;
      continue;
    }
    if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close > 0) {
        const name = input.slice(i + 2, close);
        const v = vars(name);
        out += v ?? `$(${name})`;
        i = close;
        continue;
      }
    }
    out += ch;
  }
  return out;
}

function decodeSecret(v: string): string {
  return Buffer.from(v, 'base64').toString('utf8');
}

/** Value of a downward API field path (fieldRef). */
export function fieldRefValue(
  pod: KObj,
  fieldPath: string,
  ctx: Pick<EnvContext, 'podIP' | 'hostIP'>,
): string {
  const m = /^metadata\.(labels|annotations)\['(.*)'\]$/.exec(fieldPath);
  if (m) return String(pod.metadata?.[m[1]!]?.[m[2]!] ?? '');
  switch (fieldPath) {
    case 'metadata.name':
      return pod.metadata?.name ?? '';
    case 'metadata.namespace':
      return pod.metadata?.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata?.uid ?? '';
    case 'metadata.labels':
    case 'metadata.annotations': {
      const map: Record<string, string> = pod.metadata?.[fieldPath.slice(9)] ?? {};
      return Object.keys(map)
        .sort()
        .map(
          (k) => `${k}="${String(map[k]).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`,
        )
        .join('\n');
    }
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP':
    case 'status.hostIPs':
      return ctx.hostIP;
    case 'status.podIP':
    case 'status.podIPs':
      return ctx.podIP;
    default:
      throw new ConfigRefError(`unsupported fieldRef fieldPath "${fieldPath}"`);
  }
}

/** Value of a resourceFieldRef: the container's limit (else node allocatable) or request, / divisor, rounded up. */
export function resourceFieldValue(
  pod: KObj,
  containerName: string | undefined,
  ref: KObj,
  allocatable: Record<string, string> | undefined,
): string {
  const c = ((pod.spec?.containers ?? []) as KObj[])
    .concat(pod.spec?.initContainers ?? [])
    .find((x) => x.name === (ref.containerName || containerName));
  const resource: string = ref.resource ?? '';
  const [kind, name] = resource.split('.', 2) as [string, string | undefined];
  if (!name || (kind !== 'limits' && kind !== 'requests'))
    throw new ConfigRefError(`unsupported resourceFieldRef resource "${resource}"`);
  let raw = c?.resources?.[kind]?.[name];
  if (raw === undefined && kind === 'requests') raw = c?.resources?.limits?.[name];
  if (raw === undefined)
    raw = kind === 'limits' ? allocatable?.[name] : name === 'cpu' || name === 'memory' ? '0' : undefined;
  const value = parseQuantity(raw ?? '0') ?? 0;
  const divisor = parseQuantity(ref.divisor ?? (name === 'cpu' ? '1' : '1')) || 1;
  return String(Math.ceil(value / divisor));
}

function configMapValue(cm: KObj, key: string): string | undefined {
  if (cm.data?.[key] !== undefined) return String(cm.data[key]);
  if (cm.binaryData?.[key] !== undefined) return Buffer.from(cm.binaryData[key], 'base64').toString('utf8');
  return undefined;
}

/** The container's environment as ordered name/value pairs (Map keeps insertion order). */
export function resolveEnv(pod: KObj, container: KObj, ctx: EnvContext): Map<string, string> {
  const ns: string = pod.metadata?.namespace ?? 'default';
  const env = serviceEnvForPod(ns, ctx.services, { enableServiceLinks: pod.spec?.enableServiceLinks });
  for (const from of (container.envFrom ?? []) as KObj[]) {
    const prefix: string = from.prefix ?? '';
    if (from.configMapRef) {
      const cm = ctx.configMap(ns, from.configMapRef.name);
      if (!cm) {
        if (from.configMapRef.optional) continue;
        throw new ConfigRefError(`configmap "${from.configMapRef.name}" not found`);
      }
      for (const k of Object.keys(cm.data ?? {})) env.set(prefix + k, String(cm.data[k]));
    } else if (from.secretRef) {
      const s = ctx.secret(ns, from.secretRef.name);
      if (!s) {
        if (from.secretRef.optional) continue;
        throw new ConfigRefError(`secret "${from.secretRef.name}" not found`);
      }
      for (const k of Object.keys(s.data ?? {})) env.set(prefix + k, decodeSecret(s.data[k]));
      for (const k of Object.keys(s.stringData ?? {})) env.set(prefix + k, String(s.stringData[k]));
    }
  }
  for (const e of (container.env ?? []) as KObj[]) {
    const name: string = e.name;
    if (e.valueFrom === undefined || e.valueFrom === null) {
      env.set(
        name,
        expandVars(String(e.value ?? ''), (v) => env.get(v)),
      );
      continue;
    }
    const vf: KObj = e.valueFrom;
    if (vf.fieldRef) env.set(name, fieldRefValue(pod, vf.fieldRef.fieldPath, ctx));
    else if (vf.resourceFieldRef)
      env.set(name, resourceFieldValue(pod, container.name, vf.resourceFieldRef, ctx.nodeAllocatable));
    else if (vf.configMapKeyRef) {
      const ref: KObj = vf.configMapKeyRef;
      const cm = ctx.configMap(ns, ref.name);
      const v = cm ? configMapValue(cm, ref.key) : undefined;
      if (v === undefined) {
        if (ref.optional) continue;
        throw new ConfigRefError(
          cm
            ? `couldn't find key ${ref.key} in ConfigMap ${ns}/${ref.name}`
            : `configmap "${ref.name}" not found`,
        );
      }
      env.set(name, v);
    } else if (vf.secretKeyRef) {
      const ref: KObj = vf.secretKeyRef;
      const s = ctx.secret(ns, ref.name);
      const raw = s?.data?.[ref.key];
      if (raw === undefined) {
        if (ref.optional) continue;
        throw new ConfigRefError(
          s ? `couldn't find key ${ref.key} in Secret ${ns}/${ref.name}` : `secret "${ref.name}" not found`,
        );
      }
      env.set(name, decodeSecret(raw));
    }
  }
  return env;
}

/** The argv of a container: command + args with `$(VAR)` expanded; undefined when there is no command. */
export function containerArgv(container: KObj, env: Map<string, string>): string[] | undefined {
  const command: string[] = container.command ?? [];
  if (command.length === 0) return undefined;
  const args: string[] = container.args ?? [];
  return [...command, ...args].map((a) => expandVars(String(a), (v) => env.get(v)));
}
