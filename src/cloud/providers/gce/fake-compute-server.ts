/**
 * A loopback fake of the Compute Engine REST API (v1), as much as the k8ts GCE provider and the
 * real @google-cloud/compute client (REST transport) use: regional, global and zonal collections
 * with get / list / insert / delete / patch, the target pool and instance group custom methods,
 * operations returned as DONE (and `operations/{name}/wait`), and Google's JSON error format
 * (`{"error": {"code", "message", "errors": [{"reason"}]}}`) for 404 notFound, 409 alreadyExists
 * and 400 resourceInUseByAnotherResource. It keeps a log of every mutating request.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GCE_API_BASE } from './gce-naming.js';

type Res = Record<string, any>;

export interface FakeComputeRequest {
  method: string;
  /** Path below /compute/v1/projects/{project}/, e.g. `regions/r/targetPools/a1/addInstance`. */
  path: string;
  body: any;
}

/** References between resources that make a delete fail while they exist (what -> referenced by). */
function referencedBy(store: Map<string, Res>, link: string): string | undefined {
  for (const [k, r] of store) {
    const refs = [
      r.target,
      r.backendService,
      ...(r.healthChecks ?? []),
      ...(r.backends ?? []).map((b: Res) => b.group),
    ];
    if (refs.includes(link)) return k;
  }
  return undefined;
}

export class FakeComputeServer {
  /** `<scope>/<collection>/<name>` -> resource; scope is `regions/r`, `zones/z` or `global`. */
  readonly store = new Map<string, Res>();
  /** Members of target pools and instance groups are in the resources (instances / a hidden list). */
  readonly log: FakeComputeRequest[] = [];
  private server: Server | undefined;
  private seq = 0;
  private ipSeq = 10;
  private failures = new Map<string, number>();
  url = '';
  port = 0;
  readonly project: string;

  constructor(project = 'my-project') {
    this.project = project;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
    this.url = `http://127.0.0.1:${this.port}`;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }

  /** Fail the next `times` requests whose `METHOD path` matches `re`, with HTTP 503. */
  failNext(re: RegExp, times = 1): void {
    this.failures.set(re.source, times);
    this.failPatterns.set(re.source, re);
  }
  private failPatterns = new Map<string, RegExp>();

  /** Mutating requests so far as `METHOD path` (and clear the log). */
  takeMutations(): string[] {
    const out = this.log
      .filter((r) => r.method !== 'GET' && !r.path.endsWith('/wait') && !r.path.endsWith('/listInstances'))
      .map((r) => `${r.method} ${r.path}`);
    this.log.length = 0;
    return out;
  }

  /** Put a resource directly (test setup): `scope` like `zones/us-central1-a`, collection like `instances`. */
  put(scope: string, collection: string, res: Res): Res {
    const full = {
      ...res,
      id: res.id ?? String(++this.seq),
      selfLink: this.link(scope, collection, res.name),
    };
    this.store.set(`${scope}/${collection}/${res.name}`, full);
    return full;
  }

  get(scope: string, collection: string, name: string): Res | undefined {
    return this.store.get(`${scope}/${collection}/${name}`);
  }

  list(collection: string): Res[] {
    return [...this.store.entries()].filter(([k]) => k.split('/').at(-2) === collection).map(([, v]) => v);
  }

  link(scope: string, collection: string, name: string): string {
    return `${GCE_API_BASE}projects/${this.project}/${scope}/${collection}/${name}`;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const m = /^\/compute\/v1\/projects\/([^/]+)\/(.*)$/.exec(url.pathname);
      if (!m) return this.error(res, 404, 'notFound', `no such path ${url.pathname}`);
      const path = m[2]!;
      const body = raw ? JSON.parse(raw) : undefined;
      this.log.push({ method: req.method ?? 'GET', path, body });
      for (const [src, n] of this.failures) {
        if (n > 0 && this.failPatterns.get(src)!.test(`${req.method} ${path}`)) {
          this.failures.set(src, n - 1);
          return this.error(res, 503, 'backendError', `injected failure of ${req.method} ${path}`);
        }
      }
      try {
        this.route(req.method ?? 'GET', path, body, res);
      } catch (e) {
        this.error(res, 500, 'backendError', String(e));
      }
    });
  }

  private route(method: string, path: string, body: any, res: ServerResponse): true {
    const parts = path.split('/');
    const scopeLen = parts[0] === 'global' ? 1 : 2;
    const scope = parts.slice(0, scopeLen).join('/');
    const [collection, name, verb] = parts.slice(scopeLen);
    if (!collection) return this.error(res, 404, 'notFound', `no collection in ${path}`);
    if (collection === 'operations') {
      return this.json(res, { kind: 'compute#operation', name, status: 'DONE', progress: 100 });
    }
    const key = `${scope}/${collection}/${name}`;
    const notFound = () =>
      this.error(
        res,
        404,
        'notFound',
        `The resource 'projects/${this.project}/${scope}/${collection}/${name}' was not found`,
      );
    if (!name) {
      if (method === 'GET') {
        const prefix = `${scope}/${collection}/`;
        return this.json(res, {
          kind: `compute#${collection}List`,
          items: [...this.store.entries()]
            .filter(([k]) => k.startsWith(prefix) && !k.slice(prefix.length).includes('/'))
            .map(([, v]) => v),
        });
      }
      if (method === 'POST') {
        const rname = body?.name;
        if (!rname) return this.error(res, 400, 'required', 'Required field name not specified');
        if (this.store.has(`${scope}/${collection}/${rname}`))
          return this.error(
            res,
            409,
            'alreadyExists',
            `The resource 'projects/${this.project}/${scope}/${collection}/${rname}' already exists`,
          );
        const r: Res = { ...body };
        if (collection === 'addresses' && !r.address) r.address = `203.0.113.${this.ipSeq++}`;
        if (collection === 'addresses') {
          const taken = this.list('forwardingRules').find((f) => f.IPAddress === r.address);
          r.status = taken ? 'IN_USE' : 'RESERVED';
          if (taken) r.users = [taken.selfLink];
        }
        if (collection === 'forwardingRules') {
          if (!r.IPAddress) r.IPAddress = `198.51.100.${this.ipSeq++}`;
          const target = r.target ?? r.backendService;
          if (target && ![...this.store.values()].some((x) => x.selfLink === target))
            return this.error(res, 400, 'invalid', `target ${target} does not exist`);
        }
        if (collection === 'instanceGroups') r.members = [];
        if (collection === 'targetPools') r.instances = r.instances ?? [];
        this.put(scope, collection, r);
        return this.op(res, 'insert', scope, this.link(scope, collection, rname));
      }
      return this.error(res, 405, 'badRequest', `${method} on a collection`);
    }
    const cur = this.store.get(key);
    if (!cur) return notFound();
    if (!verb) {
      if (method === 'GET') return this.json(res, cur);
      if (method === 'DELETE') {
        const user = referencedBy(this.store, cur.selfLink);
        if (user)
          return this.error(
            res,
            400,
            'resourceInUseByAnotherResource',
            `The ${collection} resource '${name}' is already being used by '${user}'`,
          );
        this.store.delete(key);
        return this.op(res, 'delete', scope, cur.selfLink);
      }
      if (method === 'PATCH' || method === 'PUT') {
        const next = method === 'PUT' ? { ...body } : { ...cur, ...body };
        next.selfLink = cur.selfLink;
        next.id = cur.id;
        next.name = cur.name;
        if (collection === 'instanceGroups') next.members = cur.members;
        this.store.set(key, next);
        return this.op(res, method === 'PUT' ? 'update' : 'patch', scope, cur.selfLink);
      }
    }
    if (method === 'POST') {
      const links = (xs: Res[] | undefined, f: string) => (xs ?? []).map((x) => x[f] as string);
      switch (`${collection}/${verb}`) {
        case 'targetPools/addInstance':
          cur.instances = [...new Set([...(cur.instances ?? []), ...links(body?.instances, 'instance')])];
          return this.op(res, 'addInstance', scope, cur.selfLink);
        case 'targetPools/removeInstance': {
          const drop = new Set(links(body?.instances, 'instance'));
          cur.instances = (cur.instances ?? []).filter((i: string) => !drop.has(i));
          return this.op(res, 'removeInstance', scope, cur.selfLink);
        }
        case 'targetPools/addHealthCheck':
          cur.healthChecks = [
            ...new Set([...(cur.healthChecks ?? []), ...links(body?.healthChecks, 'healthCheck')]),
          ];
          return this.op(res, 'addHealthCheck', scope, cur.selfLink);
        case 'targetPools/removeHealthCheck': {
          const drop = new Set(links(body?.healthChecks, 'healthCheck'));
          cur.healthChecks = (cur.healthChecks ?? []).filter((h: string) => !drop.has(h));
          return this.op(res, 'removeHealthCheck', scope, cur.selfLink);
        }
        case 'instanceGroups/addInstances':
          cur.members = [...new Set([...(cur.members ?? []), ...links(body?.instances, 'instance')])];
          cur.size = cur.members.length;
          return this.op(res, 'addInstances', scope, cur.selfLink);
        case 'instanceGroups/removeInstances': {
          const drop = new Set(links(body?.instances, 'instance'));
          cur.members = (cur.members ?? []).filter((i: string) => !drop.has(i));
          cur.size = cur.members.length;
          return this.op(res, 'removeInstances', scope, cur.selfLink);
        }
        case 'instanceGroups/listInstances':
          return this.json(res, {
            items: (cur.members ?? []).map((i: string) => ({ instance: i, status: 'RUNNING' })),
          });
      }
    }
    return this.error(res, 400, 'badRequest', `unsupported ${method} ${path}`);
  }

  private op(res: ServerResponse, type: string, scope: string, target: string): true {
    const name = `operation-${++this.seq}`;
    return this.json(res, {
      kind: 'compute#operation',
      id: String(this.seq),
      name,
      operationType: type,
      status: 'DONE',
      progress: 100,
      targetLink: target,
      selfLink: `${GCE_API_BASE}projects/${this.project}/${scope}/operations/${name}`,
      ...(scope.startsWith('regions/') ? { region: `${GCE_API_BASE}projects/${this.project}/${scope}` } : {}),
      ...(scope.startsWith('zones/') ? { zone: `${GCE_API_BASE}projects/${this.project}/${scope}` } : {}),
    });
  }

  private json(res: ServerResponse, body: unknown): true {
    res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
    res.end(JSON.stringify(body));
    return true;
  }

  private error(res: ServerResponse, code: number, reason: string, message: string): true {
    res.writeHead(code, { 'content-type': 'application/json; charset=UTF-8' });
    res.end(JSON.stringify({ error: { code, message, errors: [{ message, domain: 'global', reason }] } }));
    return true;
  }
}
