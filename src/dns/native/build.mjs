#!/usr/bin/env node
// Builds the UDP batch addon (udp-mmsg.c) with node-gyp against the headers of the running Node
// (never downloads them). Run by `npm install`. A machine without a compiler or the headers gets
// a warning and the server uses Node's dgram instead; in CI (CI set) a failed build is an error.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

const here = import.meta.dirname;
const nodedir = dirname(dirname(process.execPath));
const gyp =
  process.env.npm_config_node_gyp ??
  [
    join(nodedir, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    join(dirname(process.execPath), 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ].find((p) => existsSync(p));

function fail(why) {
  const msg = `k8ts: the DNS UDP batch addon was not built (${why}); the DNS server will use Node's dgram`;
  if (process.env.CI) {
    console.error(`${msg}\nCI needs it: install g++, make and the Node headers (${nodedir}/include/node).`);
    process.exit(1);
  }
  console.warn(msg);
  process.exit(0);
}

if (process.platform !== 'linux') fail('recvmmsg/sendmmsg are Linux only');
if (!existsSync(join(nodedir, 'include', 'node', 'node_api.h')))
  fail(`no Node headers in ${nodedir}/include/node`);
if (!gyp) fail('node-gyp not found');
const r = spawnSync(process.execPath, [gyp, 'rebuild', `--directory=${here}`, `--nodedir=${nodedir}`], {
  stdio: 'inherit',
});
if (r.status !== 0) fail(`node-gyp exited with ${r.status ?? r.signal}`);
