import { describe, expect, it } from 'vitest';
import { fieldMeta, hasSchema } from './patch-meta.js';

describe('fieldMeta', () => {
  const pod = ['spec'];
  const tpl = ['spec', 'template', 'spec'];
  const cases: [string, string, string[], unknown][] = [
    [
      'v1',
      'Pod',
      [...pod, 'containers'],
      { strategy: 'merge', mergeKey: 'name', listType: 'map', mapKeys: ['name'] },
    ],
    [
      'v1',
      'Pod',
      [...pod, 'initContainers'],
      { strategy: 'merge', mergeKey: 'name', listType: 'map', mapKeys: ['name'] },
    ],
    [
      'v1',
      'Pod',
      [...pod, 'ephemeralContainers'],
      { strategy: 'merge', mergeKey: 'name', listType: 'map', mapKeys: ['name'] },
    ],
    [
      'v1',
      'Pod',
      [...pod, 'containers', 'ports'],
      {
        strategy: 'merge',
        mergeKey: 'containerPort',
        listType: 'map',
        mapKeys: ['containerPort', 'protocol'],
      },
    ],
    [
      'v1',
      'Pod',
      [...pod, 'containers', 'env'],
      { strategy: 'merge', mergeKey: 'name', listType: 'map', mapKeys: ['name'] },
    ],
    ['v1', 'Pod', [...pod, 'containers', 'envFrom'], { listType: 'atomic' }],
    ['v1', 'Pod', [...pod, 'containers', 'command'], { listType: 'atomic' }],
    [
      'v1',
      'Pod',
      [...pod, 'containers', 'volumeMounts'],
      { strategy: 'merge', mergeKey: 'mountPath', listType: 'map', mapKeys: ['mountPath'] },
    ],
    [
      'v1',
      'Pod',
      [...pod, 'volumes'],
      { strategy: 'merge,retainKeys', mergeKey: 'name', listType: 'map', mapKeys: ['name'] },
    ],
    ['v1', 'Pod', [...pod, 'tolerations'], { listType: 'atomic' }],
    [
      'v1',
      'Pod',
      [...pod, 'hostAliases'],
      { strategy: 'merge', mergeKey: 'ip', listType: 'map', mapKeys: ['ip'] },
    ],
    [
      'v1',
      'Pod',
      [...pod, 'topologySpreadConstraints'],
      {
        strategy: 'merge',
        mergeKey: 'topologyKey',
        listType: 'map',
        mapKeys: ['topologyKey', 'whenUnsatisfiable'],
      },
    ],
    [
      'v1',
      'Pod',
      ['status', 'conditions'],
      { strategy: 'merge', mergeKey: 'type', listType: 'map', mapKeys: ['type'] },
    ],
    ['v1', 'Pod', ['status', 'containerStatuses'], { listType: 'atomic' }],
    ['v1', 'Pod', ['metadata', 'finalizers'], { strategy: 'merge', listType: 'set' }],
    [
      'v1',
      'Pod',
      ['metadata', 'ownerReferences'],
      { strategy: 'merge', mergeKey: 'uid', listType: 'map', mapKeys: ['uid'] },
    ],
    ['v1', 'Pod', ['metadata', 'managedFields'], { listType: 'atomic' }],
    ['v1', 'Pod', ['metadata', 'labels'], undefined],
    ['v1', 'Pod', ['spec', 'nodeName'], undefined],
    ['v1', 'Pod', ['spec', 'nope', 'containers'], undefined],
    [
      'apps/v1',
      'Deployment',
      [...tpl, 'containers', 'env'],
      { strategy: 'merge', mergeKey: 'name', listType: 'map', mapKeys: ['name'] },
    ],
    ['apps/v1', 'Deployment', ['spec', 'strategy'], { strategy: 'retainKeys' }],
    [
      'apps/v1',
      'Deployment',
      ['spec', 'template', 'metadata', 'finalizers'],
      { strategy: 'merge', listType: 'set' },
    ],
    ['apps/v1', 'Deployment', ['spec', 'selector', 'matchExpressions'], { listType: 'atomic' }],
    [
      'apps/v1',
      'StatefulSet',
      [...tpl, 'volumes'],
      { strategy: 'merge,retainKeys', mergeKey: 'name', listType: 'map', mapKeys: ['name'] },
    ],
    [
      'apps/v1',
      'DaemonSet',
      [...tpl, 'containers'],
      { strategy: 'merge', mergeKey: 'name', listType: 'map', mapKeys: ['name'] },
    ],
    [
      'apps/v1',
      'ReplicaSet',
      ['status', 'conditions'],
      { strategy: 'merge', mergeKey: 'type', listType: 'map', mapKeys: ['type'] },
    ],
    [
      'batch/v1',
      'Job',
      [...tpl, 'containers'],
      { strategy: 'merge', mergeKey: 'name', listType: 'map', mapKeys: ['name'] },
    ],
    [
      'batch/v1',
      'CronJob',
      ['spec', 'jobTemplate', ...tpl, 'containers'],
      { strategy: 'merge', mergeKey: 'name', listType: 'map', mapKeys: ['name'] },
    ],
    ['batch/v1', 'CronJob', ['status', 'active'], { listType: 'atomic' }],
    [
      'batch/v1',
      'Job',
      ['status', 'conditions'],
      { strategy: 'merge', mergeKey: 'type', listType: 'atomic' },
    ],
    [
      'v1',
      'Service',
      ['spec', 'ports'],
      { strategy: 'merge', mergeKey: 'port', listType: 'map', mapKeys: ['port', 'protocol'] },
    ],
    ['v1', 'Service', ['spec', 'clusterIPs'], { listType: 'atomic' }],
    [
      'v1',
      'Node',
      ['status', 'addresses'],
      { strategy: 'merge', mergeKey: 'type', listType: 'map', mapKeys: ['type'] },
    ],
    ['v1', 'Node', ['spec', 'taints'], { listType: 'atomic' }],
    ['v1', 'Node', ['spec', 'podCIDRs'], { strategy: 'merge', listType: 'set' }],
    ['discovery.k8s.io/v1', 'EndpointSlice', ['endpoints'], { listType: 'atomic' }],
    ['networking.k8s.io/v1', 'Ingress', ['spec', 'rules'], { listType: 'atomic' }],
    [
      'v1',
      'ServiceAccount',
      ['secrets'],
      { strategy: 'merge', mergeKey: 'name', listType: 'map', mapKeys: ['name'] },
    ],
    ['example.com/v1', 'Widget', ['spec', 'containers'], undefined],
  ];
  it.each(cases)('%s %s %j', (apiVersion, kind, path, want) => {
    expect(fieldMeta(apiVersion, kind, path)).toEqual(want);
  });

  it('knows every built-in kind and nothing else', () => {
    expect(hasSchema('v1', 'ConfigMap')).toBe(true);
    expect(hasSchema('coordination.k8s.io/v1', 'Lease')).toBe(true);
    expect(hasSchema('example.com/v1', 'Widget')).toBe(false);
  });
});
