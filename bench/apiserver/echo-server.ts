/**
 * The HTTP floor for bench/apiserver: a create-shaped echo (read the JSON body, parse it, stamp
 * uid/resourceVersion/creationTimestamp, answer 201 with it) on node:https or on hapi, with the
 * API server's TLS settings. No storage, no validation: what the HTTP framework alone costs.
 * `node-cluster` runs node:https in one worker process per core (node:cluster sharing the port):
 * the floor of a server that used every core of the machine.
 *   node dist/bench/apiserver/echo-server.js --framework node|node-cluster|hapi --key K --cert C
 * Prints `listening on https://127.0.0.1:PORT`.
 */
import cluster from 'node:cluster';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    framework: { type: 'string', default: 'node' },
    key: { type: 'string' },
    cert: { type: 'string' },
  },
});
const tls = { key: readFileSync(values.key!), cert: readFileSync(values.cert!) };

function stamp(o: { metadata?: Record<string, unknown> }): string {
  o.metadata = {
    ...o.metadata,
    uid: randomUUID(),
    resourceVersion: '1',
    creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  };
  return JSON.stringify(o);
}

async function main() {
  if (values.framework === 'hapi') {
    const { default: Hapi } = await import('@hapi/hapi');
    // The settings the API server used on hapi: one catch-all route, raw payload, no timeouts.
    const server = Hapi.server({
      host: '127.0.0.1',
      port: 0,
      tls: { ...tls, requestCert: true, rejectUnauthorized: false },
      routes: { timeout: { server: false, socket: false }, payload: { timeout: false } },
      router: { stripTrailingSlash: true },
      load: { sampleInterval: 0 },
    });
    server.route({
      method: '*',
      path: '/{path*}',
      options: { payload: { output: 'data', parse: false, maxBytes: 3 * 1024 * 1024 } },
      handler: (request, h) =>
        h
          .response(stamp(JSON.parse((request.payload as Buffer).toString('utf8'))))
          .code(201)
          .type('application/json'),
    });
    await server.start();
    console.log(`listening on https://127.0.0.1:${server.info.port}`);
    return;
  }
  if (values.framework === 'node-cluster' && cluster.isPrimary) {
    const n = availableParallelism();
    for (let i = 0; i < n; i++) cluster.fork();
    let listening = 0;
    cluster.on('message', (_w, msg: { port?: number }) => {
      if (msg.port && ++listening === n) console.log(`listening on https://127.0.0.1:${msg.port}`);
    });
    cluster.on('exit', () => process.exit(1));
    process.on('SIGTERM', () => {
      for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGKILL');
      process.exit(0);
    });
    return;
  }
  const server = https.createServer(
    { ...tls, requestCert: true, rejectUnauthorized: false, keepAliveTimeout: 120_000 },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = stamp(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        res.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
    },
  );
  // In a cluster, listen(0) gives every worker the same port (node:cluster docs).
  server.listen(0, '127.0.0.1', () => {
    const addr = server.address();
    const bound = typeof addr === 'object' && addr ? addr.port : 0;
    if (cluster.isWorker) process.send?.({ port: bound });
    else console.log(`listening on https://127.0.0.1:${bound}`);
  });
}

void main();
