/**
 * Pod volumes as directories under `<pod-dir>/volumes/<name>`: emptyDir (a directory), configMap
 * and secret (one file per key or per item, with defaultMode/mode), downwardAPI and projected
 * (files rendered from the pod), hostPath (the host path itself). Root mode bind-mounts them at
 * each container's mountPath (subPath, readOnly) in the container's private mount namespace;
 * rootless mode tells the process where they are through `K8TS_VOLUME_<NAME>` env variables.
 * `refreshVolumes` rewrites configMap/secret/projected/downwardAPI volumes in place when their
 * sources change (files swapped by rename; the directory itself stays, since it is bind-mounted).
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import type { KObj } from '../client/informer.js';
import { fieldRefValue, resourceFieldValue } from './env.js';
import { ConfigRefError, KubeletError } from './errors.js';
import type { Mount } from './runtime/runtime.js';

export interface VolumeContext {
  configMap(namespace: string, name: string): KObj | undefined;
  secret(namespace: string, name: string): KObj | undefined;
  podIP: string;
  hostIP: string;
  nodeAllocatable?: Record<string, string> | undefined;
}

interface FileOut {
  path: string;
  data: Buffer;
  mode: number;
}

function safeRel(p: string): string {
  const n = normalize(p);
  if (n.startsWith('..') || n.startsWith('/')) throw new KubeletError('VOLUME', `invalid item path "${p}"`);
  return n;
}

function keyedFiles(
  data: Record<string, Buffer>,
  items: KObj[] | undefined,
  defaultMode: number,
  what: string,
  optional: boolean,
): FileOut[] {
  if (!items?.length) return Object.entries(data).map(([k, v]) => ({ path: k, data: v, mode: defaultMode }));
  const out: FileOut[] = [];
  for (const it of items) {
    const v = data[it.key];
    if (v === undefined) {
      if (optional) continue;
      throw new ConfigRefError(`couldn't find key ${it.key} in ${what}`);
    }
    out.push({ path: safeRel(it.path), data: v, mode: it.mode ?? defaultMode });
  }
  return out;
}

function configMapData(cm: KObj): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries((cm.data ?? {}) as Record<string, string>))
    out[k] = Buffer.from(String(v));
  for (const [k, v] of Object.entries((cm.binaryData ?? {}) as Record<string, string>))
    out[k] = Buffer.from(v, 'base64');
  return out;
}

function secretData(s: KObj): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries((s.data ?? {}) as Record<string, string>))
    out[k] = Buffer.from(v, 'base64');
  return out;
}

function downwardFiles(pod: KObj, items: KObj[], defaultMode: number, ctx: VolumeContext): FileOut[] {
  return items.map((it) => {
    let v: string;
    if (it.fieldRef) v = fieldRefValue(pod, it.fieldRef.fieldPath, ctx);
    else if (it.resourceFieldRef)
      v = resourceFieldValue(pod, undefined, it.resourceFieldRef, ctx.nodeAllocatable);
    else v = '';
    return { path: safeRel(it.path), data: Buffer.from(v), mode: it.mode ?? defaultMode };
  });
}

/** The files of a configMap / secret / downwardAPI / projected volume (empty for other kinds). */
export function volumeFiles(pod: KObj, vol: KObj, ctx: VolumeContext): FileOut[] {
  const ns: string = pod.metadata?.namespace ?? 'default';
  if (vol.configMap) {
    const cm = ctx.configMap(ns, vol.configMap.name);
    if (!cm) {
      if (vol.configMap.optional) return [];
      throw new ConfigRefError(`configmap "${vol.configMap.name}" not found`);
    }
    return keyedFiles(
      configMapData(cm),
      vol.configMap.items,
      vol.configMap.defaultMode ?? 0o644,
      `ConfigMap ${ns}/${vol.configMap.name}`,
      vol.configMap.optional === true,
    );
  }
  if (vol.secret) {
    const s = ctx.secret(ns, vol.secret.secretName);
    if (!s) {
      if (vol.secret.optional) return [];
      throw new ConfigRefError(`secret "${vol.secret.secretName}" not found`);
    }
    return keyedFiles(
      secretData(s),
      vol.secret.items,
      vol.secret.defaultMode ?? 0o644,
      `Secret ${ns}/${vol.secret.secretName}`,
      vol.secret.optional === true,
    );
  }
  if (vol.downwardAPI)
    return downwardFiles(pod, vol.downwardAPI.items ?? [], vol.downwardAPI.defaultMode ?? 0o644, ctx);
  if (vol.projected) {
    const mode: number = vol.projected.defaultMode ?? 0o644;
    const out: FileOut[] = [];
    for (const src of (vol.projected.sources ?? []) as KObj[]) {
      if (src.configMap)
        out.push(...volumeFiles(pod, { configMap: { ...src.configMap, defaultMode: mode } }, ctx));
      else if (src.secret)
        out.push(
          ...volumeFiles(
            pod,
            { secret: { ...src.secret, secretName: src.secret.name, defaultMode: mode } },
            ctx,
          ),
        );
      else if (src.downwardAPI) out.push(...downwardFiles(pod, src.downwardAPI.items ?? [], mode, ctx));
      // serviceAccountToken sources need the TokenRequest API: TODO(#4).
    }
    return out;
  }
  return [];
}

/** Materialize every volume of the pod; returns volume name -> host path. */
export function prepareVolumes(pod: KObj, podDir: string, ctx: VolumeContext): Map<string, string> {
  const out = new Map<string, string>();
  for (const vol of (pod.spec?.volumes ?? []) as KObj[]) {
    if (vol.hostPath) {
      const p: string = vol.hostPath.path;
      const type: string = vol.hostPath.type ?? '';
      if (type === 'DirectoryOrCreate') mkdirSync(p, { recursive: true });
      else if (type === 'FileOrCreate') {
        mkdirSync(dirname(p), { recursive: true });
        writeFileSync(p, '', { flag: 'a' });
      }
      out.set(vol.name, p);
      continue;
    }
    const dir = join(podDir, 'volumes', vol.name);
    if (vol.emptyDir) {
      mkdirSync(dir, { recursive: true, mode: 0o777 });
      chmodSync(dir, 0o777);
      out.set(vol.name, dir);
      continue;
    }
    const files = volumeFiles(pod, vol, ctx);
    if (!vol.configMap && !vol.secret && !vol.downwardAPI && !vol.projected) {
      // Other kinds (PVCs, CSI, ...) cannot be provided by this kubelet: an empty directory.
      mkdirSync(dir, { recursive: true });
      out.set(vol.name, dir);
      continue;
    }
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    for (const f of files) {
      const target = join(dir, f.path);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, f.data, { mode: f.mode & 0o777 });
      chmodSync(target, f.mode & 0o777);
    }
    out.set(vol.name, dir);
  }
  return out;
}

/** Relative paths of the regular files under `dir`. */
function listFiles(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? join(prefix, e.name) : e.name;
    if (e.isDirectory()) out.push(...listFiles(dir, rel));
    else out.push(rel);
  }
  return out;
}

/**
 * Bring the rendered volumes (configMap, secret, projected, downwardAPI) of a running pod up to
 * date: changed files are replaced by rename, vanished ones removed, the directory kept (it is
 * bind-mounted into the containers). Returns the names of the volumes that changed. As upstream,
 * a subPath mount keeps the old content.
 */
export function refreshVolumes(pod: KObj, podDir: string, ctx: VolumeContext): string[] {
  const changed: string[] = [];
  for (const vol of (pod.spec?.volumes ?? []) as KObj[]) {
    if (!vol.configMap && !vol.secret && !vol.downwardAPI && !vol.projected) continue;
    const dir = join(podDir, 'volumes', vol.name);
    if (!existsSync(dir)) continue;
    const files = volumeFiles(pod, vol, ctx);
    const want = new Set(files.map((f) => normalize(f.path)));
    let any = false;
    for (const f of files) {
      const target = join(dir, f.path);
      const same =
        existsSync(target) &&
        readFileSync(target).equals(f.data) &&
        (statSync(target).mode & 0o777) === (f.mode & 0o777);
      if (same) continue;
      mkdirSync(dirname(target), { recursive: true });
      const tmp = `${target}.k8ts-tmp`;
      writeFileSync(tmp, f.data, { mode: f.mode & 0o777 });
      chmodSync(tmp, f.mode & 0o777);
      renameSync(tmp, target);
      any = true;
    }
    for (const rel of listFiles(dir)) {
      if (want.has(rel)) continue;
      rmSync(join(dir, rel), { force: true });
      any = true;
    }
    if (any) changed.push(vol.name);
  }
  return changed;
}

/** The bind mounts of a container (root mode). */
export function containerMounts(container: KObj, volumes: Map<string, string>): Mount[] {
  const out: Mount[] = [];
  for (const m of (container.volumeMounts ?? []) as KObj[]) {
    const base = volumes.get(m.name);
    if (!base) continue;
    out.push({
      source: m.subPath ? join(base, safeRel(m.subPath)) : base,
      target: m.mountPath,
      readOnly: m.readOnly === true,
    });
  }
  return out;
}

/** `K8TS_VOLUME_<NAME>` env variables (rootless mode). */
export function volumeEnv(volumes: Map<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, path] of volumes)
    out[`K8TS_VOLUME_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`] = path;
  return out;
}
