import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

describe('generated definitions', () => {
  it('match what scripts/gen-openapi.mjs produces from kubernetes-types and resources.ts', () => {
    // --check exits non-zero when the committed JSON is stale (a kind added, kubernetes-types bumped).
    expect(() =>
      execFileSync(process.execPath, [path.join(ROOT, 'scripts/gen-openapi.mjs'), '--check'], {
        cwd: ROOT,
        stdio: 'pipe',
      }),
    ).not.toThrow();
  });
});
