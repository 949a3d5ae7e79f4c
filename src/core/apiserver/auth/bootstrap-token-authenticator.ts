/**
 * Bootstrap token authentication (`Authorization: Bearer <id>.<secret>` -> `system:bootstrap:<id>`
 * in `system:bootstrappers` + the token's extra groups). The Secrets come from a cache the API
 * server keeps from its own storage watch on kube-system Secrets (no HTTP hop, and authentication
 * stays synchronous); a token created a moment ago reaches the cache within the same event loop
 * turns as the storage commit.
 */

import { resourceForPlural } from '../../api/resources.js';
import type { Registry } from '../registry.js';
import type { Authenticator, AuthRequest, UserInfo } from './authenticator.js';
import {
  BOOTSTRAP_TOKEN_NAMESPACE,
  BOOTSTRAP_TOKEN_PREFIX,
  BOOTSTRAP_TOKEN_SECRET_TYPE,
  bootstrapSecretName,
  bootstrapTokenUser,
} from './bootstrap-token.js';
import { bearerToken } from './token-authenticator.js';

type KObj = Record<string, any>;
const SECRETS = resourceForPlural('', 'v1', 'secrets')!;
const TOKEN_RE = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;

/** Looks up a bootstrap token Secret by name (kube-system). */
export type BootstrapSecretLookup = (name: string) => KObj | undefined;

export class BootstrapTokenAuthenticator implements Authenticator {
  readonly #lookup: BootstrapSecretLookup;
  readonly #now: () => Date;

  constructor(lookup: BootstrapSecretLookup, opts: { now?: (() => Date) | undefined } = {}) {
    this.#lookup = lookup;
    this.#now = opts.now ?? (() => new Date());
  }

  authenticate(req: AuthRequest): UserInfo | undefined {
    const token = bearerToken(req.headers);
    const m = token === undefined ? null : TOKEN_RE.exec(token);
    if (!m) return undefined;
    const presented = { id: m[1]!, secret: m[2]! };
    return bootstrapTokenUser(presented, this.#lookup(bootstrapSecretName(presented.id)), this.#now());
  }
}

/** The bootstrap token Secrets of kube-system, kept from the API server's storage watch. */
export class BootstrapSecretCache {
  readonly #registry: Registry;
  readonly #byName = new Map<string, KObj>();
  #watcher: { close(): void } | undefined;

  constructor(registry: Registry) {
    this.#registry = registry;
  }

  /** List and watch; resolves once the cache is filled. */
  async start(): Promise<void> {
    const list = await this.#registry.list(SECRETS, { namespace: BOOTSTRAP_TOKEN_NAMESPACE });
    for (const s of list.items) this.#put(s.metadata.name, s);
    this.#watcher = await this.#registry.storage.watch(
      this.#registry.prefix(SECRETS, BOOTSTRAP_TOKEN_NAMESPACE),
      (events) => {
        for (const ev of events) {
          const name = ev.kv.key.slice(ev.kv.key.lastIndexOf('/') + 1);
          if (!name.startsWith(BOOTSTRAP_TOKEN_PREFIX)) continue;
          if (ev.type === 'delete') this.#byName.delete(name);
          else this.#put(name, this.#registry.decode(ev.kv));
        }
      },
      { afterRevision: Number(list.resourceVersion) },
    );
  }

  #put(name: string, s: KObj): void {
    if (!name.startsWith(BOOTSTRAP_TOKEN_PREFIX)) return;
    if (s.type === BOOTSTRAP_TOKEN_SECRET_TYPE) this.#byName.set(name, s);
    else this.#byName.delete(name);
  }

  stop(): void {
    this.#watcher?.close();
  }

  get(name: string): KObj | undefined {
    return this.#byName.get(name);
  }
}
