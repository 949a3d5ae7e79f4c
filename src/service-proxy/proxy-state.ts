/**
 * The applied state the sync loop renders from: service ports and endpoints as of the last
 * checkout, with an index of service -> its service port keys. Mutated only by the change
 * trackers' checkout, from the sync loop.
 */
import type { EndpointInfo, ServicePortInfo } from './model.js';

export class ProxyState {
  readonly services = new Map<string, ServicePortInfo>();
  readonly endpoints = new Map<string, readonly EndpointInfo[]>();
  private readonly byService = new Map<string, Set<string>>();

  setPort(key: string, info: ServicePortInfo): void {
    this.services.set(key, info);
    let set = this.byService.get(info.service);
    if (!set) this.byService.set(info.service, (set = new Set()));
    set.add(key);
  }

  deletePort(key: string): void {
    const info = this.services.get(key);
    if (!info) return;
    this.services.delete(key);
    const set = this.byService.get(info.service);
    set?.delete(key);
    if (set?.size === 0) this.byService.delete(info.service);
  }

  /** Keys of the service ports of one service (`namespace/name`). */
  portsOf(service: string): ReadonlySet<string> {
    return this.byService.get(service) ?? new Set();
  }
}
