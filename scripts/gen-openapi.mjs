#!/usr/bin/env node
// Generates src/core/api/openapi/generated/definitions.json: the OpenAPI (swagger 2.0 style)
// definitions of every served kind and everything it references, read from the kubernetes-types
// .d.ts files with the TypeScript compiler API. The JSDoc comments of those files carry the
// upstream field descriptions; optional (`?`) properties are the non-required ones.
//
// Run from the repository root: `node scripts/gen-openapi.mjs` (writes the file),
// `node scripts/gen-openapi.mjs --check` (exits 1 when the committed file is stale).
// The output is committed, so the server never needs typescript at runtime.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TYPES = path.join(ROOT, 'node_modules/kubernetes-types');
const OUT = path.join(ROOT, 'src/core/api/openapi/generated/definitions.json');
const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';

/** Integer fields that are int64 upstream; everything else numeric is int32. */
const INT64 = new Set([
  'activeDeadlineSeconds',
  'deletionGracePeriodSeconds',
  'expirationSeconds',
  'fsGroup',
  'generation',
  'gracePeriodSeconds',
  'observedGeneration',
  'remainingItemCount',
  'revision',
  'runAsGroup',
  'runAsUser',
  'startingDeadlineSeconds',
  'supplementalGroups',
  'terminationGracePeriodSeconds',
]);

/** The served resources, read from resources.ts (self-contained, so a plain transpile runs it). */
async function loadResources() {
  const src = readFileSync(path.join(ROOT, 'src/core/api/resources.ts'), 'utf8');
  const js = ts.transpileModule(src, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  const mod = await import(`data:text/javascript;base64,${Buffer.from(js).toString('base64')}`);
  return mod.RESOURCES;
}

/** kubernetes-types directory of an API group (`networking.k8s.io` -> `networking`). */
function groupDir(group) {
  return group === '' ? 'core' : group.split('.')[0];
}

/** Definition-name prefix of a kubernetes-types file (path relative to the package, no extension). */
function prefixOf(rel) {
  switch (rel) {
    case 'meta/v1':
      return 'io.k8s.apimachinery.pkg.apis.meta.v1';
    case 'api/resource':
      return 'io.k8s.apimachinery.pkg.api.resource';
    case 'runtime':
      return 'io.k8s.apimachinery.pkg.runtime';
    case 'version':
      return 'io.k8s.apimachinery.pkg.version';
    case 'apiextensions/v1':
      return 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1';
    default:
      return `io.k8s.api.${rel.replaceAll('/', '.')}`;
  }
}

function relOf(fileName) {
  return path.relative(TYPES, fileName).replace(/\.d\.ts$/, '').split(path.sep).join('/');
}

function docOf(checker, node) {
  const sym = node.name ? checker.getSymbolAtLocation(node.name) : undefined;
  if (sym === undefined) return '';
  return ts.displayPartsToString(sym.getDocumentationComment(checker)).trim();
}

/** Parse `apps/v1` into group and version. */
function splitApiVersion(apiVersion) {
  const i = apiVersion.indexOf('/');
  return i < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

async function main() {
  const resources = await loadResources();
  const gvs = [];
  const roots = [];
  for (const r of resources) {
    const rel = `${groupDir(r.group)}/${r.version}`;
    if (!existsSync(path.join(TYPES, `${rel}.d.ts`))) {
      console.warn(`gen-openapi: no kubernetes-types file for ${rel}; ${r.kind} gets no schema`);
      continue;
    }
    roots.push(`${prefixOf(rel)}.${r.kind}`, `${prefixOf(rel)}.${r.listKind}`);
    if (r.subresources.includes('scale')) roots.push('io.k8s.api.autoscaling.v1.Scale');
    if (r.subresources.includes('binding')) roots.push('io.k8s.api.core.v1.Binding');
    if (!gvs.some((g) => g.group === r.group && g.version === r.version)) gvs.push({ group: r.group, version: r.version });
  }

  const files = [
    ...new Set(['meta/v1', 'autoscaling/v1', ...resources.map((r) => `${groupDir(r.group)}/${r.version}`)]),
  ]
    .map((rel) => path.join(TYPES, `${rel}.d.ts`))
    .filter((f) => existsSync(f));
  const program = ts.createProgram(files, { noEmit: true, strict: true, types: [] });
  const checker = program.getTypeChecker();

  // Every declaration by definition name.
  const decls = new Map();
  for (const sf of program.getSourceFiles()) {
    if (!sf.fileName.startsWith(TYPES)) continue;
    const prefix = prefixOf(relOf(sf.fileName));
    for (const st of sf.statements) {
      if (ts.isInterfaceDeclaration(st) || ts.isTypeAliasDeclaration(st)) decls.set(`${prefix}.${st.name.text}`, st);
    }
  }
  for (const name of decls.keys()) if (name.startsWith('io.k8s.apimachinery.pkg.apis.meta.v1.')) roots.push(name);

  const out = {};
  const queue = [...roots];

  /** Definition name a type reference points at, following import aliases. */
  function refName(typeName) {
    let sym = checker.getSymbolAtLocation(typeName);
    if (sym && sym.flags & ts.SymbolFlags.Alias) sym = checker.getAliasedSymbol(sym);
    const decl = sym?.declarations?.[0];
    if (decl === undefined) throw new Error(`cannot resolve ${typeName.getText()}`);
    return `${prefixOf(relOf(decl.getSourceFile().fileName))}.${sym.name}`;
  }

  function convert(node, propName) {
    switch (node.kind) {
      case ts.SyntaxKind.StringKeyword:
        return { type: 'string' };
      case ts.SyntaxKind.BooleanKeyword:
        return { type: 'boolean' };
      case ts.SyntaxKind.NumberKeyword:
        return { type: 'integer', format: INT64.has(propName) ? 'int64' : 'int32' };
      case ts.SyntaxKind.AnyKeyword:
      case ts.SyntaxKind.UnknownKeyword:
        return { 'x-kubernetes-preserve-unknown-fields': true };
      case ts.SyntaxKind.LiteralType:
        return { type: 'string' };
      case ts.SyntaxKind.ArrayType:
        return { type: 'array', items: convert(node.elementType, propName) };
      case ts.SyntaxKind.TypeLiteral: {
        const index = node.members.find((m) => ts.isIndexSignatureDeclaration(m));
        if (index === undefined || index.type === undefined) return { type: 'object' };
        return { type: 'object', additionalProperties: convert(index.type, propName) };
      }
      case ts.SyntaxKind.UnionType: {
        const kinds = node.types.map((t) => t.kind).sort();
        if (kinds.length === 2 && kinds.includes(ts.SyntaxKind.NumberKeyword) && kinds.includes(ts.SyntaxKind.StringKeyword)) {
          queue.push(INT_OR_STRING);
          return { $ref: `#/definitions/${INT_OR_STRING}` };
        }
        return { 'x-kubernetes-preserve-unknown-fields': true };
      }
      case ts.SyntaxKind.TypeReference: {
        const id = node.typeName;
        if (ts.isIdentifier(id) && id.text === 'Array' && node.typeArguments?.length === 1) {
          return { type: 'array', items: convert(node.typeArguments[0], propName) };
        }
        const name = refName(id);
        queue.push(name);
        return { $ref: `#/definitions/${name}` };
      }
      default:
        throw new Error(`unsupported type syntax ${ts.SyntaxKind[node.kind]}: ${node.getText()}`);
    }
  }

  function buildInterface(decl) {
    const schema = {};
    const description = docOf(checker, decl);
    if (description) schema.description = description;
    const properties = {};
    const required = [];
    let apiVersion;
    let kind;
    for (const m of decl.members) {
      if (!ts.isPropertySignature(m) || m.type === undefined) continue;
      const name = m.name.getText().replace(/^"|"$/g, '');
      const prop = convert(m.type, name);
      const doc = docOf(checker, m);
      properties[name] = doc ? { description: doc, ...prop } : prop;
      if (m.questionToken === undefined) required.push(name);
      if (name === 'apiVersion' && ts.isLiteralTypeNode(m.type)) apiVersion = m.type.literal.text;
      if (name === 'kind' && ts.isLiteralTypeNode(m.type)) kind = m.type.literal.text;
    }
    schema.type = 'object';
    if (Object.keys(properties).length > 0) schema.properties = properties;
    if (required.length > 0) schema.required = required;
    if (apiVersion !== undefined && kind !== undefined) {
      schema['x-kubernetes-group-version-kind'] = [{ ...splitApiVersion(apiVersion), kind }];
    }
    return schema;
  }

  function buildAlias(name, decl) {
    const description = docOf(checker, decl);
    const base = name.endsWith('.Time') || name.endsWith('.MicroTime') ? { type: 'string', format: 'date-time' } : convert(decl.type, '');
    return description ? { description, ...base } : base;
  }

  while (queue.length > 0) {
    const name = queue.shift();
    if (name in out) continue;
    if (name === INT_OR_STRING) {
      out[name] = {
        description:
          'IntOrString holds either an int32 or a string. In JSON or YAML it is written as a bare number or a string.',
        type: 'string',
        format: 'int-or-string',
      };
      continue;
    }
    const decl = decls.get(name);
    if (decl === undefined) throw new Error(`no declaration for ${name}`);
    out[name] = ts.isInterfaceDeclaration(decl) ? buildInterface(decl) : buildAlias(name, decl);
  }

  // Kinds whose apiVersion is not a literal in kubernetes-types but that upstream tags with GVKs.
  const meta = 'io.k8s.apimachinery.pkg.apis.meta.v1';
  const core = (kind) => [{ group: '', version: 'v1', kind }];
  for (const kind of ['Status', 'APIGroup', 'APIGroupList', 'APIResourceList', 'APIVersions']) {
    if (out[`${meta}.${kind}`]) out[`${meta}.${kind}`]['x-kubernetes-group-version-kind'] = core(kind);
  }
  for (const kind of ['DeleteOptions', 'WatchEvent']) {
    out[`${meta}.${kind}`]['x-kubernetes-group-version-kind'] = gvs.map((gv) => ({ ...gv, kind }));
  }

  const sorted = Object.fromEntries(Object.keys(out).sort().map((k) => [k, out[k]]));
  const typesVersion = JSON.parse(readFileSync(path.join(TYPES, 'package.json'), 'utf8')).version;
  const raw = JSON.stringify({ source: `kubernetes-types ${typesVersion}`, definitions: sorted }, null, 2);
  // Format as the repo's formatter would, so `biome check` stays clean on the committed file.
  const text = execFileSync(path.join(ROOT, 'node_modules/.bin/biome'), ['format', `--stdin-file-path=${path.relative(ROOT, OUT)}`], {
    cwd: ROOT,
    input: raw,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });

  if (process.argv.includes('--check')) {
    const current = existsSync(OUT) ? readFileSync(OUT, 'utf8') : '';
    if (current !== text) {
      console.error(`gen-openapi: ${path.relative(ROOT, OUT)} is stale; run node scripts/gen-openapi.mjs`);
      process.exit(1);
    }
    return;
  }
  mkdirSync(path.dirname(OUT), { recursive: true });
  writeFileSync(OUT, text);
  console.log(`gen-openapi: wrote ${Object.keys(sorted).length} definitions to ${path.relative(ROOT, OUT)}`);
}

await main();
