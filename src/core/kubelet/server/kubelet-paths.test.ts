import { describe, expect, it } from 'vitest';
import { parseExecQuery, parseKubeletPath, parseLogQuery } from './kubelet-paths.js';

describe('parseKubeletPath', () => {
  it.each([
    ['/healthz', { kind: 'healthz' }],
    ['/pods', { kind: 'pods' }],
    ['/containerLogs/ns/p/c', { kind: 'containerLogs', ref: { namespace: 'ns', pod: 'p', container: 'c' } }],
    ['/exec/ns/p/c', { kind: 'exec', ref: { namespace: 'ns', pod: 'p', container: 'c' } }],
    [
      '/exec/ns/p/uid-1/c',
      { kind: 'exec', ref: { namespace: 'ns', pod: 'p', uid: 'uid-1', container: 'c' } },
    ],
    ['/attach/ns/p/c', { kind: 'attach', ref: { namespace: 'ns', pod: 'p', container: 'c' } }],
    ['/portForward/ns/p', { kind: 'portForward', pod: { namespace: 'ns', pod: 'p' } }],
    ['/portForward/ns/p/u', { kind: 'portForward', pod: { namespace: 'ns', pod: 'p', uid: 'u' } }],
    ['/containerLogs/ns/p', undefined],
    ['/exec/ns', undefined],
    ['/metrics', undefined],
    ['/', undefined],
    ['/exec/ns/p/%E0%A4%A', undefined],
  ])('%s', (path, route) => {
    expect(parseKubeletPath(path)).toEqual(route);
  });
});

describe('query parameters', () => {
  it('exec: command list and the 1-valued flags; tty drops stderr', () => {
    const q = new URLSearchParams('command=sh&command=-c&command=echo+hi&input=1&output=1&error=1');
    expect(parseExecQuery(q)).toEqual({
      command: ['sh', '-c', 'echo hi'],
      stdin: true,
      stdout: true,
      stderr: true,
      tty: false,
    });
    expect(parseExecQuery(new URLSearchParams('output=1&error=1&tty=1'))).toMatchObject({
      stderr: false,
      tty: true,
    });
  });

  it('logs: PodLogOptions with validation', () => {
    expect(parseLogQuery(new URLSearchParams('follow=true&tailLines=10&timestamps=true'))).toEqual({
      follow: true,
      previous: false,
      timestamps: true,
      tailLines: 10,
    });
    expect(parseLogQuery(new URLSearchParams('sinceSeconds=0'))).toEqual({
      error: 'sinceSeconds: invalid value 0: must be greater than or equal to 1',
    });
    expect(parseLogQuery(new URLSearchParams('tailLines=x'))).toEqual({
      error: 'tailLines: invalid value "x": must be an integer',
    });
    expect(parseLogQuery(new URLSearchParams('sinceTime=2024-01-01T00:00:00Z&sinceSeconds=5'))).toEqual({
      error: 'at most one of sinceTime or sinceSeconds may be specified',
    });
  });
});
