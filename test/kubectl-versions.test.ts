/**
 * The kubectl versions users have (1.27 .. 1.33 from the Google Cloud SDK) against one server:
 * discovery, create (JSON for <= 1.31, protobuf for >= 1.32), apply, get -o wide, server-side
 * apply, scale, explain and delete.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, kubectl, kubectlOk, type RunningServer, startServer } from './helpers/server.js';

const SDK = '/usr/lib/google-cloud-sdk/bin';
const VERSIONS = ['1.27', '1.28', '1.29', '1.30', '1.31', '1.33'].filter((v) => {
  const ok = existsSync(`${SDK}/kubectl.${v}`);
  if (!ok && process.env.CI)
    throw new Error(`${SDK}/kubectl.${v} is missing: install the Google Cloud SDK kubectl component`);
  if (!ok) console.warn(`skipping kubectl ${v}: ${SDK}/kubectl.${v} not found`);
  return ok;
});

describe.runIf(VERSIONS.length > 0)('kubectl version matrix', () => {
  let srv: RunningServer;
  let tmp: string;
  beforeAll(async () => {
    srv = await startServer();
    tmp = mkdtempSync(join(tmpdir(), 'k8ts-kv-'));
  });
  afterAll(async () => {
    await srv?.kill('SIGTERM');
    if (srv) cleanup(srv.dataDir);
    if (tmp) cleanup(tmp);
  });

  for (const v of VERSIONS) {
    it(`kubectl ${v}`, async () => {
      const bin = `${SDK}/kubectl.${v}`;
      const name = `web-${v.replace('.', '-')}`;
      const run = (args: string[]) => kubectlOk(srv, args, { bin });
      expect(await run(['api-resources', '-o', 'name'])).toContain('deployments.apps');
      expect(await run(['create', 'deployment', name, '--image=nginx:1.25', '--replicas=2'])).toContain(
        `deployment.apps/${name} created`,
      );
      const manifest = join(tmp, `${name}.yaml`);
      writeFileSync(manifest, `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {a: "1"}\n`);
      expect(await run(['apply', '-f', manifest])).toContain('created');
      writeFileSync(manifest, `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {a: "2"}\n`);
      expect(await run(['apply', '-f', manifest])).toContain('configured');
      expect(await run(['apply', '--server-side', '--force-conflicts', '-f', manifest])).toContain(
        'serverside-applied',
      );
      expect(await run(['scale', 'deployment', name, '--replicas=3'])).toContain('scaled');
      const wide = await run(['get', 'deployment', name, '-o', 'wide']);
      expect(wide).toMatch(
        new RegExp(`^${name}\\s+\\d+/3\\s+\\d+\\s+\\d+\\s+\\S+\\s+nginx\\s+nginx:1.25\\s+app=${name}`, 'm'),
      );
      expect(await run(['explain', 'deployment.spec.replicas'])).toContain('replicas');
      expect(await run(['delete', 'deployment', name])).toContain('deleted');
      const gone = await kubectl(srv, ['get', 'deployment', name], { bin });
      expect(gone.stderr).toContain(`deployments.apps "${name}" not found`);
    });
  }
});
