/**
 * In-memory shared informers for the proxy's unit tests: `emit` delivers add/update/delete to the
 * registered handlers as the real informer does (update carries the previous object).
 */
import type { ResourceInfo } from '../../core/api/resources.js';
import type { InformerHandlers, KObj } from '../../core/client/informer.js';
import type { SharedInformer } from '../../core/client/informer-factory.js';

export class FakeInformer implements SharedInformer {
  readonly info: ResourceInfo;
  private readonly handlers: InformerHandlers[] = [];
  private readonly objects = new Map<string, KObj>();

  constructor(info: ResourceInfo) {
    this.info = info;
  }

  addHandlers(h: InformerHandlers): void {
    this.handlers.push(h);
    for (const o of this.objects.values()) h.add?.(o);
  }
  list(): KObj[] {
    return [...this.objects.values()];
  }
  get(namespace: string | undefined, name: string): KObj | undefined {
    return this.objects.get(`${namespace ?? ''}/${name}`);
  }
  addIndex(): void {}
  byIndex(): KObj[] {
    return [];
  }
  hasSynced(): boolean {
    return true;
  }
  async waitForSync(): Promise<void> {}

  /** Add or update (by namespace/name). */
  upsert(o: KObj): void {
    const k = `${o.metadata?.namespace ?? ''}/${o.metadata.name}`;
    const old = this.objects.get(k);
    this.objects.set(k, o);
    for (const h of this.handlers) old ? h.update?.(o, old) : h.add?.(o);
  }

  delete(o: KObj): void {
    const k = `${o.metadata?.namespace ?? ''}/${o.metadata.name}`;
    const old = this.objects.get(k) ?? o;
    this.objects.delete(k);
    for (const h of this.handlers) h.delete?.(old);
  }
}

/** A factory handing out one FakeInformer per resource plural. */
export class FakeFactory {
  readonly informers = new Map<string, FakeInformer>();

  informer(info: ResourceInfo): SharedInformer {
    let i = this.informers.get(info.plural);
    if (!i) this.informers.set(info.plural, (i = new FakeInformer(info)));
    return i;
  }

  get(plural: string): FakeInformer {
    const i = this.informers.get(plural);
    if (!i) throw new Error(`no informer for ${plural}`);
    return i;
  }
}
