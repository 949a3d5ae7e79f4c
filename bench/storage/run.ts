/**
 * Prints the storage write-rate anchors side by side, then the event loop delay while 100 paced
 * writers write, with WAL checkpoints on the worker thread and inside the commits (two rounds):
 *   node dist/bench/storage/run.js [--dir DIR] [--seconds N] [--concurrency 1,16,256]
 * The directory should be on the disk the server will use (fsync cost is the disk's).
 */

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  groupCommitRate,
  type RateResult,
  rawDurableWriteRate,
  storageCreateRate,
  storageLoopDelay,
} from './raw-sqlite.js';

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    seconds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '1,16,256' },
  },
});

const dir = values.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'k8ts-bench-storage-'));
const seconds = Number(values.seconds);
const levels = values.concurrency.split(',').map(Number);

const rows: Array<{ name: string; concurrency: number } & RateResult> = [];
rows.push({
  name: 'raw sqlite, 1 txn/write',
  concurrency: 1,
  ...(await rawDurableWriteRate({ dir, seconds })),
});
for (const concurrency of levels) {
  rows.push({
    name: 'raw sqlite, group commit',
    concurrency,
    ...(await groupCommitRate({ dir, seconds, concurrency })),
  });
  rows.push({
    name: 'SqliteStorage.create',
    concurrency,
    ...(await storageCreateRate({ dir, seconds, concurrency })),
  });
}
console.table(rows);
// The event loop while writing: WAL checkpoints on the worker thread vs inside the commits (anchor).
const loop = [];
for (let round = 0; round < 2; round++)
  for (const [name, checkpointBytes] of [
    ['SqliteStorage, checkpoints in the commits (anchor)', 0],
    ['SqliteStorage, checkpoints on a worker thread', undefined],
  ] as const)
    loop.push({ name, ...(await storageLoopDelay({ dir, seconds, writers: 100, checkpointBytes })) });
console.table(loop);
if (values.dir === undefined) fs.rmSync(dir, { recursive: true, force: true });
