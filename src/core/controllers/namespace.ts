/**
 * The namespace controller: a namespace being deleted has all its content deleted, then its
 * `kubernetes` finalizer removed (through the finalize subresource), after which the API server
 * removes it. Content that lingers (finalizers, graceful pods) is re-checked with backoff.
 */
import { RESOURCES } from '../api/resources.js';
import { Informer, type KObj } from '../client/informer.js';
import { collectionPath } from '../client/paths.js';
import { ApiStatusError, type RestClient } from '../client/rest-client.js';
import { logRetry, WorkQueue } from '../client/workqueue.js';

const FINALIZER = 'kubernetes';

export class NamespaceController {
  private readonly client: RestClient;
  private readonly informer: Informer;
  private readonly queue: WorkQueue;

  constructor(client: RestClient) {
    this.client = client;
    this.queue = new WorkQueue((name) => this.sync(name), {
      baseDelayMs: 200,
      maxDelayMs: 5000,
      onError: (key, err) => logRetry('namespace-controller', key, err),
    });
    const enqueue = (o: KObj) => {
      if (o.metadata.deletionTimestamp) this.queue.add(o.metadata.name);
    };
    this.informer = new Informer(client, {
      path: '/api/v1/namespaces',
      handlers: { add: enqueue, update: enqueue },
    });
  }

  async start(): Promise<void> {
    await this.informer.start();
  }

  stop(): void {
    this.informer.stop();
    this.queue.stop();
  }

  private async sync(name: string): Promise<void> {
    const ns = this.informer.get(name);
    if (!ns?.metadata.deletionTimestamp) return;
    const finalizers: string[] = ns.spec?.finalizers ?? [];
    if (!finalizers.includes(FINALIZER)) return;
    let remaining = 0;
    for (const info of RESOURCES) {
      if (!info.namespaced) continue;
      const path = collectionPath(info, name);
      await this.client.request('DELETE', path, {
        body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' },
      });
      const left = await this.client.request('GET', path);
      remaining += (left.items as KObj[]).length;
    }
    if (remaining > 0) throw new Error(`namespace ${name}: ${remaining} objects still being deleted`);
    try {
      await this.client.request('PUT', `/api/v1/namespaces/${name}/finalize`, {
        body: { ...ns, spec: { ...ns.spec, finalizers: finalizers.filter((f) => f !== FINALIZER) } },
      });
    } catch (e) {
      if (!(e instanceof ApiStatusError && e.httpStatus === 404)) throw e;
    }
  }
}
