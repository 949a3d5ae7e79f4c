/**
 * A service CIDR other than the default, IPv4 and IPv6: the `kubernetes` Service takes the first
 * address (and the serving certificate carries it), Services get addresses and families from the
 * range, and families the single-stack range does not have are refused as upstream words it.
 */

import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, type TestClient } from './helpers/rest.js';
import { cleanup, type RunningServer, startServer } from './helpers/server.js';

const svc = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name },
  spec: { ports: [{ port: 80, targetPort: 8080 }], ...spec },
});

describe.each([
  {
    cidr: '10.96.0.0/12',
    first: '10.96.0.1',
    family: 'IPv4',
    other: 'IPv6',
    inRange: /^10\.(9[6-9]|10[0-9]|11[01])\./,
  },
  {
    cidr: 'fd00:43::/112',
    first: 'fd00:43::1',
    family: 'IPv6',
    other: 'IPv4',
    inRange: /^fd00:43::[0-9a-f]{1,4}$/,
  },
])('service CIDR $cidr', ({ cidr, first, family, other, inRange }) => {
  let srv: RunningServer;
  let c: TestClient;
  beforeAll(async () => {
    srv = await startServer({ args: ['--service-cidr', cidr] });
    c = adminClient(srv);
  });
  afterAll(async () => {
    c?.close();
    await srv?.kill('SIGTERM');
    if (srv) cleanup(srv.dataDir);
  });

  it('gives the kubernetes Service the first address, also in the serving certificate', async () => {
    const k = await c.json('GET', '/api/v1/namespaces/default/services/kubernetes');
    expect(k.spec.clusterIP).toBe(first);
    expect(k.spec.ipFamilies).toEqual([family]);
    const cert = new X509Certificate(readFileSync(join(srv.dataDir, 'pki', 'server.crt')));
    const sans = cert.subjectAltName ?? '';
    const want = family === 'IPv6' ? 'IP Address:FD00:43:0:0:0:0:0:1' : `IP Address:${first}`;
    expect(sans.toUpperCase()).toContain(want.toUpperCase());
  });

  it('allocates from the range with its family; a headless Service gets the family too', async () => {
    const r = await c.request('POST', '/api/v1/namespaces/default/services', svc('web'));
    expect(r.status, r.body).toBe(201);
    const s = JSON.parse(r.body);
    expect(s.spec.clusterIP).toMatch(inRange);
    expect(s.spec.clusterIPs).toEqual([s.spec.clusterIP]);
    expect(s.spec.ipFamilies).toEqual([family]);
    expect(s.spec.ipFamilyPolicy).toBe('SingleStack');
    const h = await c.json(
      'POST',
      '/api/v1/namespaces/default/services',
      svc('headless', { clusterIP: 'None' }),
    );
    expect(h.spec.clusterIP).toBe('None');
    expect(h.spec.ipFamilies).toEqual([family]);
  });

  it('refuses a family the range does not have, and dual-stack when required; prefers the one there is', async () => {
    const wrong = await c.request(
      'POST',
      '/api/v1/namespaces/default/services',
      svc('wrong', { ipFamilies: [other] }),
    );
    expect(wrong.status).toBe(422);
    expect(JSON.parse(wrong.body).message).toBe(
      `Service "wrong" is invalid: spec.ipFamilies[0]: Invalid value: "${other}": not configured on this cluster`,
    );
    const dual = await c.request(
      'POST',
      '/api/v1/namespaces/default/services',
      svc('dual', { ipFamilies: [family, other], ipFamilyPolicy: 'RequireDualStack' }),
    );
    expect(dual.status).toBe(422);
    expect(JSON.parse(dual.body).message).toContain('this cluster is not configured for dual-stack services');
    const prefer = await c.request(
      'POST',
      '/api/v1/namespaces/default/services',
      svc('prefer', { ipFamilies: [family, other], ipFamilyPolicy: 'PreferDualStack' }),
    );
    expect(prefer.status, prefer.body).toBe(201);
    expect(JSON.parse(prefer.body).spec.ipFamilies).toEqual([family]);
    for (const name of ['wrong', 'dual'])
      expect((await c.request('GET', `/api/v1/namespaces/default/services/${name}`)).status).toBe(404);
  });
});
