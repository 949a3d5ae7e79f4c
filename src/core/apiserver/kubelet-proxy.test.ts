import { describe, expect, it } from 'vitest';
import type { ApiError } from './errors.js';
import { chooseContainer, kubeletEndpoint, streamQuery } from './kubelet-proxy.js';
import { parseRequestInfo } from './request-info.js';

const pod = (containers: string[], inits: string[] = []) => ({
  metadata: { name: 'web' },
  spec: { containers: containers.map((name) => ({ name })), initContainers: inits.map((name) => ({ name })) },
});

const message = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return `${(e as ApiError).httpCode} ${(e as ApiError).message}`;
  }
  return 'no error';
};

describe('chooseContainer (upstream words)', () => {
  it('takes the only container, or the named one', () => {
    expect(chooseContainer(pod(['a']), null)).toBe('a');
    expect(chooseContainer(pod(['a', 'b'], ['init']), 'init')).toBe('init');
  });

  it.each([
    [pod(['a', 'b']), null, '400 a container name must be specified for pod web, choose one of: [a b]'],
    [
      pod(['a', 'b'], ['i']),
      null,
      '400 a container name must be specified for pod web, choose one of: [a b] or one of the init containers: [i]',
    ],
    [pod(['a']), 'x', '400 container x is not valid for pod web'],
    [pod([]), null, '400 pod web does not have a container'],
  ])('%j %s', (p, requested, msg) => {
    expect(message(() => chooseContainer(p, requested))).toBe(msg);
  });
});

describe('kubeletEndpoint', () => {
  it('prefers InternalIP, then Hostname; port from daemonEndpoints, else 10250', () => {
    const node = (addresses: { type: string; address: string }[], port?: number) => ({
      metadata: { name: 'n' },
      status: { addresses, ...(port ? { daemonEndpoints: { kubeletEndpoint: { Port: port } } } : {}) },
    });
    expect(
      kubeletEndpoint(
        node(
          [
            { type: 'Hostname', address: 'n1' },
            { type: 'InternalIP', address: '10.0.0.5' },
          ],
          12345,
        ),
      ),
    ).toEqual({ host: '10.0.0.5', port: 12345 });
    expect(kubeletEndpoint(node([{ type: 'Hostname', address: 'n1' }]))).toEqual({ host: 'n1', port: 10250 });
    expect(message(() => kubeletEndpoint(node([])))).toBe(
      '503 no preferred addresses found; known addresses: []',
    );
  });
});

describe('streamQuery', () => {
  it('maps PodExecOptions onto the kubelet parameters; stdout and stderr default to true', () => {
    const q = streamQuery(new URLSearchParams('command=sh&command=-c&command=x&stdin=true&tty=true'), {
      command: true,
    });
    expect(q.toString()).toBe('command=sh&command=-c&command=x&input=1&output=1&error=1&tty=1');
    expect(streamQuery(new URLSearchParams('stdout=false&stdin=1'), { command: false }).toString()).toBe(
      'input=1&error=1',
    );
  });

  it('refuses no streams at all, and exec without a command', () => {
    expect(
      message(() => streamQuery(new URLSearchParams('stdout=false&stderr=false'), { command: false })),
    ).toBe('400 you must specify at least 1 of stdin, stdout, stderr');
    expect(message(() => streamQuery(new URLSearchParams(''), { command: true }))).toBe(
      '400 you must specify at least one command for the container',
    );
  });
});

describe('request info of kubelet subresources', () => {
  it('pods/exec and nodes/proxy with a sub-path', () => {
    expect(parseRequestInfo('POST', '/api/v1/namespaces/ns/pods/web/exec')).toMatchObject({
      verb: 'create',
      resource: 'pods',
      name: 'web',
      subresource: 'exec',
    });
    expect(parseRequestInfo('GET', '/api/v1/nodes/n1/proxy/containerLogs/ns/p/c')).toMatchObject({
      verb: 'get',
      resource: 'nodes',
      name: 'n1',
      subresource: 'proxy',
      subpath: 'containerLogs/ns/p/c',
    });
    expect(parseRequestInfo('GET', '/api/v1/nodes/n1/proxy')).toMatchObject({
      subresource: 'proxy',
      subpath: '',
    });
    expect(parseRequestInfo('GET', '/api/v1/nodes/n1/proxy/metrics/')).toMatchObject({ subpath: 'metrics/' });
  });
});
