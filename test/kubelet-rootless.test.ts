/**
 * The kubelet in rootless mode through a real `k8ts server --rootless` (its kubelet component):
 * pods are processes on the host network, each with its own 127.x address.
 */
import { afterAll, beforeAll, describe } from 'vitest';
import { type KubeletCluster, startKubeletCluster } from './helpers/kubelet-cluster.js';
import { kubeletScenarios } from './helpers/kubelet-scenarios.js';
import { KUBECTL, requireTool } from './helpers/server.js';

const have = requireTool(KUBECTL, 'install kubectl') && requireTool('/usr/bin/curl', 'apt-get install curl');

describe.runIf(have)('kubelet, rootless', () => {
  let c: KubeletCluster;
  beforeAll(async () => {
    c = await startKubeletCluster({ mode: 'rootless' });
  }, 60_000);
  afterAll(async () => {
    await c?.close();
  }, 60_000);
  kubeletScenarios(() => c);
});
