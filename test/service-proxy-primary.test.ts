/**
 * `--nodeport-addresses primary`: the proxy reads its Node's primary IP from the API (waiting for
 * the kubelet to publish it) and programs NodePorts only there. Kernel commands go to a recording
 * runner: this is about which CIDRs reach the rendering, not about the kernel (the netns and
 * kernel-semantics tests cover that).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKubeconfig, RestClient } from '../src/core/client/rest-client.js';
import { RecordingRunner } from '../src/service-proxy/runner.js';
import { startServiceProxy } from '../src/service-proxy/start.js';
import { cleanup, type RunningServer, startServer } from './helpers/server.js';

describe('service proxy --nodeport-addresses primary', () => {
  let server: RunningServer | undefined;
  let client: RestClient;

  beforeAll(async () => {
    server = await startServer({ args: ['--disable-controllers'] });
    client = new RestClient(loadKubeconfig(server.kubeconfig));
  }, 60_000);

  afterAll(async () => {
    client?.close();
    if (server) {
      await server.kill();
      cleanup(server.dataDir);
    }
  });

  it('waits for the Node to carry its InternalIP, then serves NodePorts on it only', async () => {
    const runner = new RecordingRunner();
    const started = startServiceProxy({
      client,
      nodeName: 'n1',
      mode: 'nftables',
      runner,
      healthzBindAddress: '127.0.0.1:0',
      nodePortAddresses: ['primary'],
      nodeWaitMs: 20_000,
    });
    // The kubelet registers the node after the proxy started, then publishes its addresses.
    await new Promise((r) => setTimeout(r, 700));
    await client.request('POST', '/api/v1/nodes', {
      body: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } },
    });
    await client.request('PATCH', '/api/v1/nodes/n1/status', {
      body: {
        status: {
          addresses: [
            { type: 'Hostname', address: 'n1' },
            { type: 'InternalIP', address: '10.9.8.7' },
          ],
        },
      },
      contentType: 'application/merge-patch+json',
    });
    const running = await started;
    try {
      const input = runner.calls
        .filter((c) => c.cmd === 'nft')
        .map((c) => c.stdin ?? '')
        .join('\n');
      expect(input).toContain('ip daddr { 10.9.8.7/32 } fib daddr type local');
      expect(input).not.toContain('ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports');
    } finally {
      await running.stop();
    }
  });

  it('a node that never appears: a clear error naming it', async () => {
    await expect(
      startServiceProxy({
        client,
        nodeName: 'missing',
        mode: 'nftables',
        runner: new RecordingRunner(),
        healthzBindAddress: '127.0.0.1:0',
        nodePortAddresses: ['primary'],
        nodeWaitMs: 600,
      }),
    ).rejects.toThrow('--nodeport-addresses primary: node "missing" does not exist');
  });
});
