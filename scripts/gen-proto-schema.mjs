#!/usr/bin/env node
// Generates src/core/api/protobuf/schema.generated.ts: for every protobuf message reachable from the
// served kinds (plus autoscaling/v1 Scale, core/v1 Binding, meta/v1 DeleteOptions/Status/List), its
// field numbers, JSON names, types and Go pointer-ness.
//
// Source of the facts: the FileDescriptorProtos that gogo-protobuf compiles (gzipped) into every Go
// binary linking k8s.io/api, i.e. kubectl. They carry exactly the messages and field numbers of
// upstream generated.proto and, unlike the published .proto text, the gogoproto options: nullable=false
// marks a Go value field (omitted from JSON when zero), which the decoder needs to tell `replicas: 0`
// (a pointer, sent on purpose) from `minReadySeconds: 0` (a value, always on the wire). When several
// binaries are given their messages are merged (later ones add fields), so the newest kubectl's
// fields are known too. No upstream comments exist in descriptors, so none end up here.
//
// Run from the repository root:
//   node scripts/gen-proto-schema.mjs [kubectl binaries...]   (writes the file)
//   node scripts/gen-proto-schema.mjs --check [binaries...]   (exits 1 when the committed file differs)
// Default binaries: `kubectl` on PATH, then the newest /usr/lib/google-cloud-sdk/bin/kubectl.1.N.

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import ts from 'typescript';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, 'src/core/api/protobuf/schema.generated.ts');
const META = 'k8s.io.apimachinery.pkg.apis.meta.v1';

// --- a minimal protobuf reader, enough for descriptor.proto --------------------------------------

function varint(buf, pos) {
  let v = 0;
  let mul = 1;
  for (;;) {
    const b = buf[pos++];
    if (b === undefined) throw new Error('truncated varint');
    v += (b & 0x7f) * mul;
    if (b < 0x80) return [v, pos];
    mul *= 128;
  }
}

/** Fields of one message as [number, value] pairs (value: number for varints, Buffer otherwise). */
function fields(buf) {
  const out = [];
  let pos = 0;
  while (pos < buf.length) {
    const [tag, p] = varint(buf, pos);
    pos = p;
    const num = Math.floor(tag / 8);
    const wire = tag % 8;
    if (wire === 0) {
      const [v, q] = varint(buf, pos);
      out.push([num, v]);
      pos = q;
    } else if (wire === 2) {
      const [len, q] = varint(buf, pos);
      out.push([num, buf.subarray(q, q + len)]);
      pos = q + len;
    } else if (wire === 1) {
      out.push([num, buf.subarray(pos, pos + 8)]);
      pos += 8;
    } else if (wire === 5) {
      out.push([num, buf.subarray(pos, pos + 4)]);
      pos += 4;
    } else throw new Error(`wire type ${wire}`);
  }
  return out;
}

const one = (fs, n) => fs.find(([k]) => k === n)?.[1];
const all = (fs, n) => fs.filter(([k]) => k === n).map(([, v]) => v);
const str = (v) => (v === undefined ? undefined : v.toString('utf8'));

// --- descriptors out of a Go binary ------------------------------------------------------------

/** Every k8s.io FileDescriptorProto gzipped inside a binary. */
function descriptorsIn(file) {
  const bin = readFileSync(file);
  const magic = Buffer.from([0x1f, 0x8b, 0x08, 0x00]);
  const out = [];
  for (let i = bin.indexOf(magic); i >= 0; i = bin.indexOf(magic, i + 1)) {
    let raw;
    try {
      raw = zlib.gunzipSync(bin.subarray(i, i + 4_000_000), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    } catch {
      continue;
    }
    if (raw[0] !== 0x0a) continue;
    try {
      const fd = fields(raw);
      const name = str(one(fd, 1));
      if (name?.startsWith('k8s.io/') && name.endsWith('/generated.proto')) out.push(fd);
    } catch {}
  }
  return out;
}

const SCALARS = {
  1: 'double',
  2: 'float',
  3: 'int64',
  4: 'uint64',
  5: 'int32',
  8: 'bool',
  9: 'string',
  12: 'bytes',
  13: 'uint32',
};

/**
 * Messages of a FileDescriptorProto: fq name -> { fields: Map<number, raw field>, mapEntry }.
 * Raw field: { name, number, repeated, type (scalar name) | typeName (fq message), nullable, customName }.
 */
function messagesOf(fd, into) {
  const pkg = str(one(fd, 2));
  const walk = (prefix, dp) => {
    const d = fields(dp);
    const fq = `${prefix}.${str(one(d, 1))}`;
    const opts = one(d, 7);
    const mapEntry = opts ? one(fields(opts), 7) === 1 : false;
    const fs = new Map();
    for (const fb of all(d, 2)) {
      const f = fields(fb);
      const type = one(f, 5);
      const o = one(f, 8) ? fields(one(f, 8)) : [];
      const field = {
        name: str(one(f, 1)),
        number: one(f, 3),
        repeated: one(f, 4) === 3,
        nullable: one(o, 65001) !== 0,
        customName: str(one(o, 65004)),
      };
      if (type === 11) field.typeName = str(one(f, 6)).replace(/^\./, '');
      else if (SCALARS[type]) field.type = SCALARS[type];
      else throw new Error(`${fq}.${field.name}: unsupported protobuf type ${type}`);
      fs.set(field.number, field);
    }
    const prev = into.get(fq);
    if (prev) for (const [n, f] of fs) prev.fields.set(n, f);
    else into.set(fq, { fields: fs, mapEntry });
    for (const nested of all(d, 3)) walk(fq, nested);
  };
  for (const mp of all(fd, 4)) walk(pkg, mp);
}

// --- roots and reachability -----------------------------------------------------------------------

async function loadResources() {
  const src = readFileSync(path.join(ROOT, 'src/core/api/resources.ts'), 'utf8');
  const js = ts.transpileModule(src, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  const mod = await import(`data:text/javascript;base64,${Buffer.from(js).toString('base64')}`);
  return mod.RESOURCES;
}

/** `apiVersion kind` -> fq message name of every kind a request body may carry. */
async function kindRoots() {
  const kinds = new Map();
  const add = (group, version, kind, pkg) => {
    const apiVersion = group === '' ? version : `${group}/${version}`;
    kinds.set(`${apiVersion} ${kind}`, `${pkg}.${kind}`);
  };
  for (const r of await loadResources()) {
    const pkg = `k8s.io.api.${r.group === '' ? 'core' : r.group.split('.')[0]}.${r.version}`;
    add(r.group, r.version, r.kind, pkg);
    add(r.group, r.version, r.listKind, pkg);
  }
  add('autoscaling', 'v1', 'Scale', 'k8s.io.api.autoscaling.v1');
  add('', 'v1', 'Binding', 'k8s.io.api.core.v1');
  // meta kinds are registered in every group version: `*` matches any apiVersion.
  for (const k of ['DeleteOptions', 'Status', 'List']) kinds.set(`* ${k}`, `${META}.${k}`);
  return kinds;
}

/** The schema type string of a field, or its map form when it points at a map-entry message. */
function typeOf(field, messages) {
  if (field.type) return field.type;
  const target = messages.get(field.typeName);
  if (!target) throw new Error(`unknown message ${field.typeName}`);
  if (!target.mapEntry) return `message:${field.typeName}`;
  const k = target.fields.get(1);
  const v = target.fields.get(2);
  return `map:${typeOf(k, messages)}:${typeOf(v, messages)}`;
}

/** JSON property names of the kubernetes-types interface of a message, if that package has it. */
const propsCache = new Map();
function jsonProps(fq) {
  const m = /^k8s\.io\.(?:api\.([a-z0-9]+)|apimachinery\.pkg\.apis\.(meta))\.(v[0-9a-z]+)\.([A-Za-z0-9]+)$/.exec(fq);
  if (!m) return undefined;
  const file = path.join(ROOT, 'node_modules/kubernetes-types', m[1] ?? m[2], `${m[3]}.d.ts`);
  if (!propsCache.has(file)) propsCache.set(file, existsSync(file) ? readFileSync(file, 'utf8') : '');
  const body = new RegExp(`\\nexport interface ${m[4]} \\{([\\s\\S]*?)\\n\\}`).exec(propsCache.get(file));
  if (!body) return undefined;
  return new Set([...body[1].matchAll(/^ {4}(?:readonly )?([A-Za-z0-9_$]+)\??:/gm)].map((x) => x[1]));
}

/**
 * Field mode: `inline` for a Go embedded struct whose JSON is flattened into the parent (`json:",inline"`):
 * a value message field whose name the parent's JSON type (kubernetes-types) lacks while it has
 * properties of the embedded message; `value` for a Go value scalar (omitted from JSON when zero);
 * `ptr` for everything else (kept whenever it is on the wire).
 */
function modeOf(parent, field, messages) {
  if (field.typeName && !field.repeated && !field.nullable) {
    const props = jsonProps(parent);
    const child = messages.get(field.typeName);
    if (props && !props.has(field.name) && [...child.fields.values()].some((f) => props.has(f.name))) return 'inline';
  }
  if (field.type && !field.repeated && !field.nullable) return 'value';
  return 'ptr';
}

/**
 * JSON name of a field: the proto name, except where go-to-protobuf spelled it differently from the
 * JSON tag (`aPIGroup` for `apiGroup`), found as a case-insensitive match in kubernetes-types.
 */
function jsonNameOf(parent, field) {
  const props = jsonProps(parent);
  if (!props || props.has(field.name)) return field.name;
  const lower = field.name.toLowerCase();
  return [...props].find((p) => p.toLowerCase() === lower) ?? field.name;
}

function reachable(roots, messages) {
  const seen = new Set();
  const stack = [...roots];
  while (stack.length) {
    const fq = stack.pop();
    if (seen.has(fq)) continue;
    const m = messages.get(fq);
    if (!m) throw new Error(`no descriptor for ${fq}`);
    seen.add(fq);
    for (const f of m.fields.values()) if (f.typeName) stack.push(f.typeName);
  }
  return [...seen].filter((fq) => !messages.get(fq).mapEntry).sort();
}

function defaultBinaries() {
  const out = [];
  try {
    out.push(realpathSync(execFileSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).trim()));
  } catch {}
  const dir = '/usr/lib/google-cloud-sdk/bin';
  if (existsSync(dir)) {
    const vs = readdirSync(dir)
      .filter((f) => /^kubectl\.1\.\d+$/.test(f))
      .sort((a, b) => Number(a.split('.')[2]) - Number(b.split('.')[2]));
    if (vs.length) out.push(path.join(dir, vs[vs.length - 1]));
  }
  return [...new Set(out)];
}

function versionOf(bin) {
  try {
    return JSON.parse(execFileSync(bin, ['version', '--client', '-o', 'json'], { encoding: 'utf8' })).clientVersion
      .gitVersion;
  } catch {
    return path.basename(bin);
  }
}

function render(names, messages, kinds, versions) {
  const lines = [
    '// Generated by scripts/gen-proto-schema.mjs from the protobuf descriptors compiled into kubectl',
    `// ${versions.join(', ')}. Do not edit; regenerate.`,
    '',
    '/** A scalar, `message:<fq name>`, or `map:<key type>:<value type>`. */',
    'export type FieldType = string;',
    '/**',
    ' * `ptr`: kept whenever on the wire; `value`: a Go value field, dropped when zero (JSON omitempty);',
    ' * `inline`: a Go embedded struct whose fields are flattened into the parent JSON object.',
    ' */',
    "export type FieldMode = 'ptr' | 'value' | 'inline';",
    '/** [JSON name, type, repeated, mode] */',
    'export type FieldSpec = readonly [name: string, type: FieldType, repeated: boolean, mode: FieldMode];',
    '',
    '/** Fully qualified message name -> field number -> field. */',
    'export const MESSAGES: Readonly<Record<string, Readonly<Record<number, FieldSpec>>>> = {',
  ];
  for (const fq of names) {
    lines.push(`  '${fq}': {`);
    const fs = [...messages.get(fq).fields.values()].sort((a, b) => a.number - b.number);
    for (const f of fs) {
      const type = typeOf(f, messages);
      const parts = [`'${jsonNameOf(fq, f)}'`, `'${type}'`, String(f.repeated && !type.startsWith('map:')), `'${modeOf(fq, f, messages)}'`];
      const line = `    ${f.number}: [${parts.join(', ')}],`;
      // wrapped the way the repository's formatter (biome, 110 columns) would
      if (line.length <= 110) lines.push(line);
      else lines.push(`    ${f.number}: [`, ...parts.map((p) => `      ${p},`), '    ],');
    }
    lines.push('  },');
  }
  lines.push('};', '');
  lines.push('/** `apiVersion kind` (apiVersion `*`: any) -> fully qualified message name. */');
  lines.push('export const KINDS: Readonly<Record<string, string>> = {');
  for (const [k, fq] of [...kinds].sort(([a], [b]) => a.localeCompare(b))) lines.push(`  '${k}': '${fq}',`);
  lines.push('};', '');
  return lines.join('\n');
}

async function main() {
  const args = process.argv.slice(2);
  const check = args.includes('--check');
  const bins = args.filter((a) => a !== '--check');
  const binaries = bins.length ? bins : defaultBinaries();
  if (!binaries.length) throw new Error('no kubectl binary found; pass one');
  const messages = new Map();
  const versions = [];
  for (const bin of binaries) {
    const fds = descriptorsIn(bin);
    if (!fds.length) throw new Error(`${bin}: no k8s.io protobuf descriptors inside`);
    for (const fd of fds) messagesOf(fd, messages);
    versions.push(versionOf(bin));
  }
  const kinds = await kindRoots();
  const names = reachable(kinds.values(), messages);
  const text = render(names, messages, kinds, versions);
  const inline = names.flatMap((fq) =>
    [...messages.get(fq).fields.values()].filter((f) => modeOf(fq, f, messages) === 'inline').map((f) => `${fq}.${f.name}`),
  );
  console.error(`${names.length} messages; inline fields: ${inline.join(', ')}`);
  if (check) {
    const current = existsSync(OUT) ? readFileSync(OUT, 'utf8') : '';
    if (current !== text) {
      console.error(`${path.relative(ROOT, OUT)} is stale: run node scripts/gen-proto-schema.mjs`);
      process.exit(1);
    }
    return;
  }
  writeFileSync(OUT, text);
  console.error(`wrote ${path.relative(ROOT, OUT)} (${text.length} bytes)`);
}

await main();
