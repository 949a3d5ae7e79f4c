/**
 * What the sync loop hands a backend (iptables, nftables or userspace) and what it gets back.
 */
import type { StaleEndpoint } from './change-tracker.js';
import type { ServicePortInfo } from './model.js';
import type { ProxyState } from './proxy-state.js';

export interface SyncRequest {
  state: ProxyState;
  /** Services (`namespace/name`) whose ports or endpoints changed since the last successful sync. */
  changedServices: ReadonlySet<string>;
  /** Rewrite everything (periodic repair, first sync, node change). */
  full: boolean;
  staleEndpoints: readonly StaleEndpoint[];
  newlyActiveUdp: readonly string[];
  removedServicePorts: readonly ServicePortInfo[];
}

export interface SyncResult {
  full: boolean;
  /** ms spent computing the desired state. */
  generateMs: number;
  /** ms spent applying it (iptables-restore, listeners). */
  applyMs: number;
  /** Rules now programmed per table (iptables mode). */
  ruleCounts: Record<string, number>;
  /** Rules written by this sync per table. */
  rulesWritten: Record<string, number>;
}

export interface ProxyBackend {
  readonly mode: 'iptables' | 'nftables' | 'userspace';
  /** Render and apply; rejects when applying failed (the caller retries with a full sync). */
  sync(req: SyncRequest): Promise<SyncResult>;
  /** Release what the backend holds (listeners); iptables rules are left in place, as upstream. */
  stop(): Promise<void>;
}
