/**
 * Prints the storage write-rate anchors side by side:
 *   node dist/bench/storage/run.js [--dir DIR] [--seconds N] [--concurrency 1,16,256]
 * The directory should be on the disk the server will use (fsync cost is the disk's).
 */

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { groupCommitRate, type RateResult, rawDurableWriteRate, storageCreateRate } from './raw-sqlite.js';

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
if (values.dir === undefined) fs.rmSync(dir, { recursive: true, force: true });
