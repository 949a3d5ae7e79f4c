/**
 * `k8ts token create [--ttl 24h] [--description D] | list | delete <id>`: bootstrap tokens for
 * joining nodes, stored as kube-system/bootstrap-token-<id> Secrets, managed through the API with
 * an admin kubeconfig (default: the server's, <data-dir>/kubeconfig.yaml).
 */
import { join } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { resourceForPlural } from '../core/api/resources.js';
import {
  BOOTSTRAP_TOKEN_NAMESPACE,
  bootstrapSecretName,
  bootstrapTokenSecret,
  DEFAULT_EXTRA_GROUP,
} from '../core/apiserver/auth/bootstrap-token.js';
import { collectionPath, objectPath } from '../core/client/paths.js';
import { ApiStatusError, loadKubeconfig, RestClient } from '../core/client/rest-client.js';
import { defaultDataDir } from './data-dir.js';
import { JoinError } from './errors.js';
import { checkTokenId, formatJoinToken, generateBootstrapToken, parseJoinToken } from './join-token.js';
import { formatColumns, TOKEN_LIST_HEADER, tokenRows } from './token-list.js';

const SECRETS = resourceForPlural('', 'v1', 'secrets')!;

/** `24h`, `90m`, `1h30m`, `30s`, `0` (never expires) -> milliseconds. */
export function parseTtl(v: string): number {
  if (v === '0' || v === '0s') return 0;
  const re = /(\d+(?:\.\d+)?)(h|m|s)/g;
  let total = 0;
  let used = 0;
  for (let m = re.exec(v); m; m = re.exec(v)) {
    total += Number(m[1]) * { h: 3_600_000, m: 60_000, s: 1000 }[m[2] as 'h' | 'm' | 's'];
    used += m[0].length;
  }
  if (used !== v.length || used === 0)
    throw new InvalidArgumentError(`not a duration like 24h, 90m or 0 (never expires): ${v}`);
  return total;
}

interface CommonOptions {
  kubeconfig?: string;
  dataDir: string;
}

function client(o: CommonOptions): { client: RestClient; caPem: string } {
  const path = o.kubeconfig ?? join(o.dataDir, 'kubeconfig.yaml');
  try {
    const cfg = loadKubeconfig(path);
    return { client: new RestClient({ ...cfg, userAgent: 'k8ts-token' }), caPem: cfg.caPem };
  } catch (e) {
    throw new JoinError('OPTIONS', `cannot read kubeconfig ${path}: ${(e as Error).message}`);
  }
}

async function run(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof JoinError || e instanceof ApiStatusError || e instanceof InvalidArgumentError) {
      console.error(`k8ts token: ${e.message}`);
      process.exit(1);
    }
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ECONNREFUSED') {
      console.error(`k8ts token: cannot reach the API server: ${err.message}`);
      process.exit(1);
    }
    throw e;
  }
}

/** Register `k8ts token`. */
export function addTokenCommand(program: Command): void {
  const token = program.command('token').description('manage join tokens (bootstrap tokens) of the cluster');
  const common = (c: Command) =>
    c
      .option('--kubeconfig <file>', 'admin credentials (default: <data-dir>/kubeconfig.yaml)')
      .option('--data-dir <dir>', "the server's data dir", defaultDataDir());
  common(
    token
      .command('create')
      .description('create a join token and print it (K10<ca sha256>::<id>.<secret>)')
      .option('--ttl <duration>', 'lifetime, e.g. 24h or 30m; 0 never expires', parseTtl, 24 * 3_600_000)
      .option('--description <text>', 'what the token is for'),
  ).action((o: CommonOptions & { ttl: number; description?: string }) =>
    run(async () => {
      const { client: c, caPem } = client(o);
      try {
        const t = generateBootstrapToken();
        await c.request('POST', collectionPath(SECRETS, BOOTSTRAP_TOKEN_NAMESPACE), {
          body: bootstrapTokenSecret({
            ...t,
            expiration: o.ttl > 0 ? new Date(Date.now() + o.ttl) : undefined,
            usages: ['authentication', 'signing'],
            extraGroups: [DEFAULT_EXTRA_GROUP],
            description: o.description,
          }),
        });
        console.log(formatJoinToken(t, caPem));
      } finally {
        c.close();
      }
    }),
  );
  common(token.command('list').description('list the join tokens')).action((o: CommonOptions) =>
    run(async () => {
      const { client: c } = client(o);
      try {
        const list = await c.request('GET', collectionPath(SECRETS, BOOTSTRAP_TOKEN_NAMESPACE), {
          query: { fieldSelector: 'type=bootstrap.kubernetes.io/token' },
        });
        console.log(formatColumns([TOKEN_LIST_HEADER, ...tokenRows(list.items ?? [], new Date())]));
      } finally {
        c.close();
      }
    }),
  );
  common(
    token
      .command('delete')
      .description('delete join tokens (by id, <id>.<secret> or the full K10 token)')
      .argument('<tokens...>'),
  ).action((ids: string[], o: CommonOptions) =>
    run(async () => {
      const { client: c } = client(o);
      try {
        for (const raw of ids) {
          const id = raw.includes('.') ? parseJoinToken(raw).id : checkTokenId(raw);
          try {
            await c.request(
              'DELETE',
              objectPath(SECRETS, BOOTSTRAP_TOKEN_NAMESPACE, bootstrapSecretName(id)),
            );
          } catch (e) {
            if (e instanceof ApiStatusError && e.httpStatus === 404)
              throw new JoinError('TOKEN_FORMAT', `bootstrap token "${id}" not found`);
            throw e;
          }
          console.log(`bootstrap token "${id}" deleted`);
        }
      } finally {
        c.close();
      }
    }),
  );
}
