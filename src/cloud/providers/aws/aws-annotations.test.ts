import type { Service } from 'kubernetes-types/core/v1.js';
import { describe, expect, it } from 'vitest';
import { CloudConfigError } from '../../errors.js';
import { awsLbConfig, keyValueList } from './aws-annotations.js';
import { defaultLoadBalancerName, instanceIdFromProviderId, targetGroupName } from './aws-naming.js';

const P = 'service.beta.kubernetes.io/aws-load-balancer-';
function svc(ann: Record<string, string>, spec: Partial<Service['spec']> = {}): Service {
  return {
    metadata: {
      name: 'my-web.app',
      namespace: 'team-frontend',
      uid: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
      annotations: ann,
    },
    spec: {
      type: 'LoadBalancer',
      ports: [
        { name: 'http', port: 80, targetPort: 8080, nodePort: 30080, protocol: 'TCP' },
        { name: 'https', port: 443, targetPort: 8443, nodePort: 30443, protocol: 'TCP' },
      ],
      ...spec,
    },
  };
}

describe('AWS annotations', () => {
  it.each([
    [{}, false],
    [{ [`${P}internal`]: 'true' }, true],
    [{ [`${P}internal`]: '0.0.0.0/0' }, true],
    [{ [`${P}internal`]: 'false' }, false],
    [{ [`${P}scheme`]: 'internal' }, true],
    [{ [`${P}scheme`]: 'internet-facing', [`${P}internal`]: 'true' }, false],
  ])('internal %j -> %s', (ann, want) => expect(awsLbConfig(svc(ann)).internal).toBe(want));

  it('ssl-ports by name or number select TLS listeners; backend-protocol ssl makes the target TLS', () => {
    const c = awsLbConfig(
      svc({ [`${P}ssl-cert`]: 'arn:cert', [`${P}ssl-ports`]: 'https', [`${P}backend-protocol`]: 'ssl' }),
    );
    expect(
      c.mappings.map((m) => [m.frontendPort, m.frontendProtocol, m.trafficProtocol, m.certificateArn]),
    ).toEqual([
      [80, 'TCP', 'TCP', undefined],
      [443, 'TLS', 'TLS', 'arn:cert'],
    ]);
    expect(
      awsLbConfig(svc({ [`${P}ssl-cert`]: 'arn:cert' })).mappings.every((m) => m.frontendProtocol === 'TLS'),
    ).toBe(true);
  });

  it('health checks: TCP traffic-port by default, HTTP on healthCheckNodePort for Local, overrides', () => {
    expect(awsLbConfig(svc({})).mappings[0]!.healthCheck).toMatchObject({
      protocol: 'TCP',
      port: 'traffic-port',
    });
    expect(
      awsLbConfig(svc({}, { externalTrafficPolicy: 'Local', healthCheckNodePort: 31111 })).mappings[0]!
        .healthCheck,
    ).toMatchObject({
      protocol: 'HTTP',
      port: '31111',
      path: '/healthz',
    });
    expect(
      awsLbConfig(
        svc({
          [`${P}healthcheck-protocol`]: 'http',
          [`${P}healthcheck-path`]: '/ready',
          [`${P}healthcheck-interval`]: '10',
        }),
      ).mappings[0]!.healthCheck,
    ).toMatchObject({ protocol: 'HTTP', path: '/ready', intervalSeconds: 10 });
  });

  it.each([
    [{ [`${P}type`]: 'classic' }, /nlb/],
    [{ [`${P}scheme`]: 'public' }, /internal or internet-facing/],
    [{ [`${P}nlb-target-type`]: 'pod' }, /instance or ip/],
    [{ [`${P}healthcheck-interval`]: '3' }, /\[5, 300\]/],
    [{ [`${P}cross-zone-load-balancing-enabled`]: 'yes' }, /true or false/],
    [{ [`${P}healthcheck-port`]: 'eighty' }, /traffic-port/],
  ])('rejects %j', (ann, msg) => {
    expect(() => awsLbConfig(svc(ann))).toThrow(CloudConfigError);
    expect(() => awsLbConfig(svc(ann))).toThrow(msg);
  });

  it('type external is left to the AWS Load Balancer Controller', () => {
    expect(awsLbConfig(svc({ [`${P}type`]: 'external' })).implementedElsewhere).toBe(true);
  });

  it('parses tag and attribute lists', () => {
    expect(keyValueList(' a=1, b=, c ,=x, d=e=f')).toEqual({ a: '1', b: '', c: '', d: 'e=f' });
  });

  it('names as cloud-provider-aws does', () => {
    const s = svc({});
    expect(defaultLoadBalancerName(s)).toBe(`a${'aaaaaaaabbbbccccddddeeeeeeeeeeee'.slice(0, 31)}`);
    const m = awsLbConfig(s).mappings[0]!;
    const n = targetGroupName('prod', s, m, 'instance');
    expect(n).toMatch(/^k8s-teamfron-mywebapp-[0-9a-f]{10}$/);
    expect(n.length).toBeLessThanOrEqual(32);
    expect(targetGroupName('prod', s, { ...m, trafficPort: 30081 }, 'instance')).not.toBe(n);
    expect(targetGroupName('staging', s, m, 'instance')).not.toBe(n);
    expect(instanceIdFromProviderId('aws:///eu-west-1a/i-0abc123')).toBe('i-0abc123');
    expect(instanceIdFromProviderId('gce://p/z/n')).toBeUndefined();
  });
});
