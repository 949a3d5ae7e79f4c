/**
 * Fake instance metadata servers on loopback for tests (and local experiments): an EC2 IMDSv2
 * service (token PUT required, token checked on every GET) and a GCE metadata server (requires
 * and returns `Metadata-Flavor: Google`). They speak only what ec2-metadata.ts / gce-metadata.ts use.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeMetadataServer {
  url: string;
  /** Requests seen, as `METHOD path`. */
  requests: string[];
  close(): Promise<void>;
}

async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  requests: string[],
): Promise<FakeMetadataServer> {
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** An IMDSv2 fake serving `values` under /latest/meta-data/ (e.g. {'instance-id': 'i-0abc'}). */
export function fakeEc2Metadata(values: Record<string, string>): Promise<FakeMetadataServer> {
  const token = 'fake-imds-token';
  return listen((req, res) => {
    if (req.method === 'PUT' && req.url === '/latest/api/token') {
      if (!req.headers['x-aws-ec2-metadata-token-ttl-seconds']) return end(res, 400, 'missing ttl');
      return end(res, 200, token);
    }
    if (req.headers['x-aws-ec2-metadata-token'] !== token) return end(res, 401, 'Unauthorized');
    const path = (req.url ?? '').replace(/^\/latest\/meta-data\//, '');
    const v = values[path];
    return v === undefined ? end(res, 404, 'Not Found') : end(res, 200, v);
  }, []);
}

/** A GCE metadata fake serving `values` under /computeMetadata/v1/ (e.g. {'project/project-id': 'p'}). */
export function fakeGceMetadata(values: Record<string, string>): Promise<FakeMetadataServer> {
  return listen((req, res) => {
    res.setHeader('metadata-flavor', 'Google');
    if (req.headers['metadata-flavor'] !== 'Google') return end(res, 403, 'Missing Metadata-Flavor header');
    const path = (req.url ?? '').replace(/^\/computeMetadata\/v1\//, '');
    const v = values[path];
    return v === undefined ? end(res, 404, 'Not Found') : end(res, 200, v);
  }, []);
}

function end(res: ServerResponse, code: number, body: string): void {
  res.writeHead(code, { 'content-type': 'text/plain' });
  res.end(body);
}
