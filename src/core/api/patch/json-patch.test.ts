import { describe, expect, it } from 'vitest';
import { JsonPatchError } from './errors.js';
import { applyJsonPatch } from './json-patch.js';

const deploy = () => ({
  metadata: { name: 'web', labels: { app: 'web' } },
  spec: { replicas: 2, template: { spec: { containers: [{ name: 'c', image: 'nginx:1.14' }] } } },
});

describe('applyJsonPatch', () => {
  const ok: [string, unknown[], (d: ReturnType<typeof deploy>) => unknown, unknown][] = [
    ['replace', [{ op: 'replace', path: '/spec/replicas', value: 3 }], (d) => d.spec.replicas, 3],
    [
      'add member',
      [{ op: 'add', path: '/metadata/labels/env', value: 'prod' }],
      (d) => d.metadata.labels,
      { app: 'web', env: 'prod' },
    ],
    ['remove member', [{ op: 'remove', path: '/metadata/labels/app' }], (d) => d.metadata.labels, {}],
    [
      'append to list',
      [{ op: 'add', path: '/spec/template/spec/containers/-', value: { name: 'side', image: 'busybox' } }],
      (d) => d.spec.template.spec.containers.map((c) => c.name),
      ['c', 'side'],
    ],
    [
      'test then replace image',
      [
        { op: 'test', path: '/spec/template/spec/containers/0/image', value: 'nginx:1.14' },
        { op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'nginx:1.16' },
      ],
      (d) => d.spec.template.spec.containers[0]?.image,
      'nginx:1.16',
    ],
    [
      'copy',
      [{ op: 'copy', from: '/metadata/name', path: '/metadata/labels/name' }],
      (d) => d.metadata.labels,
      { app: 'web', name: 'web' },
    ],
    [
      'move',
      [{ op: 'move', from: '/metadata/labels/app', path: '/metadata/labels/role' }],
      (d) => d.metadata.labels,
      { role: 'web' },
    ],
    [
      'escaped path',
      [{ op: 'add', path: '/metadata/labels/example.com~1team', value: 'a' }],
      (d) => d.metadata.labels,
      { app: 'web', 'example.com/team': 'a' },
    ],
    ['empty patch', [], (d) => d.spec.replicas, 2],
  ];
  it.each(ok)('%s', (_name, ops, pick, want) => {
    const original = deploy();
    const result = applyJsonPatch(original, ops);
    expect(pick(result)).toEqual(want);
    expect(original).toEqual(deploy());
  });

  const bad: [string, unknown, string, number, string][] = [
    [
      'kubectl patch --type=json with a failing test op',
      [
        { op: 'replace', path: '/spec/replicas', value: 9 },
        { op: 'test', path: '/metadata/labels/app', value: 'db' },
      ],
      'TEST_OPERATION_FAILED',
      1,
      'testing value /metadata/labels/app failed: test failed (operation 1)',
    ],
    [
      'remove missing',
      [{ op: 'remove', path: '/metadata/labels/nope' }],
      'OPERATION_PATH_UNRESOLVABLE',
      0,
      "error in remove for path: '/metadata/labels/nope': Unable to remove nonexistent key: nope: missing value (operation 0)",
    ],
    [
      'replace missing',
      [{ op: 'replace', path: '/spec/paused', value: true }],
      'OPERATION_PATH_UNRESOLVABLE',
      0,
      'replace operation does not apply: doc is missing key: /spec/paused: missing value (operation 0)',
    ],
    [
      'add under missing parent',
      [{ op: 'add', path: '/status/foo/bar', value: 1 }],
      'OPERATION_PATH_CANNOT_ADD',
      0,
      'add operation does not apply: doc is missing path: "/status/foo/bar": missing value (operation 0)',
    ],
    [
      'unknown op',
      [{ op: 'frobnicate', path: '/a' }],
      'OPERATION_OP_INVALID',
      0,
      'Unexpected kind: frobnicate',
    ],
    ['missing value', [{ op: 'add', path: '/a' }], 'OPERATION_VALUE_REQUIRED', 0, 'missing value'],
    ['not a list', { op: 'add', path: '/a', value: 1 }, 'INVALID_PATCH', -1, 'cannot unmarshal object'],
  ];
  it.each(bad)('%s', (_name, ops, code, index, message) => {
    const original = deploy();
    let err: unknown;
    try {
      applyJsonPatch(original, ops);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(JsonPatchError);
    expect((err as JsonPatchError).code).toBe(code);
    expect((err as JsonPatchError).index).toBe(index);
    expect((err as JsonPatchError).message).toContain(message);
    // Atomic: even the successful first op of a failed patch left no trace.
    expect(original).toEqual(deploy());
  });
});
