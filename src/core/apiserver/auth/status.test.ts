import { describe, expect, it } from 'vitest';
import { AllowAuthenticated, type AuthorizationAttributes } from './authorizer.js';
import { forbiddenMessage, forbiddenStatus, unauthorizedStatus } from './status.js';

const x = { name: 'x', groups: ['system:authenticated'] };

describe('forbiddenMessage', () => {
  const cases: Array<[string, AuthorizationAttributes, string | undefined, string]> = [
    [
      'namespaced list',
      { user: x, verb: 'list', apiGroup: '', resource: 'pods', namespace: 'default' },
      undefined,
      'pods is forbidden: User "x" cannot list resource "pods" in API group "" in the namespace "default"',
    ],
    [
      'named object in a group',
      {
        user: { name: 'jane', groups: [] },
        verb: 'get',
        apiGroup: 'apps',
        resource: 'deployments',
        namespace: 'prod',
        name: 'web',
      },
      undefined,
      'deployments.apps "web" is forbidden: User "jane" cannot get resource "deployments" in API group "apps" in the namespace "prod"',
    ],
    [
      'cluster scope',
      { user: x, verb: 'list', apiGroup: '', resource: 'nodes' },
      undefined,
      'nodes is forbidden: User "x" cannot list resource "nodes" in API group "" at the cluster scope',
    ],
    [
      'subresource',
      {
        user: x,
        verb: 'get',
        apiGroup: '',
        resource: 'pods',
        subresource: 'log',
        namespace: 'ns',
        name: 'p',
      },
      undefined,
      'pods "p" is forbidden: User "x" cannot get resource "pods/log" in API group "" in the namespace "ns"',
    ],
    [
      'non-resource path',
      { user: x, verb: 'get', apiGroup: '', resource: '', path: '/metrics', resourceRequest: false },
      undefined,
      'forbidden: User "x" cannot get path "/metrics"',
    ],
    [
      'with a reason',
      {
        user: x,
        verb: 'delete',
        apiGroup: 'networking.k8s.io',
        resource: 'ingresses',
        namespace: 'a',
        name: 'i',
      },
      'no RBAC policy matched',
      'ingresses.networking.k8s.io "i" is forbidden: User "x" cannot delete resource "ingresses" in API group "networking.k8s.io" in the namespace "a": no RBAC policy matched',
    ],
    [
      'quoted user name',
      { user: { name: 'a"b', groups: [] }, verb: 'list', apiGroup: '', resource: 'secrets', namespace: 'n' },
      undefined,
      'secrets is forbidden: User "a\\"b" cannot list resource "secrets" in API group "" in the namespace "n"',
    ],
  ];
  it.each(cases)('%s', (_name, attrs, reason, expected) => {
    expect(forbiddenMessage(attrs, reason)).toBe(expected);
  });
});

describe('Status objects', () => {
  it('builds the 403 Status with details', () => {
    expect(
      forbiddenStatus({
        user: x,
        verb: 'get',
        apiGroup: 'apps',
        resource: 'deployments',
        namespace: 'd',
        name: 'web',
      }),
    ).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'deployments.apps "web" is forbidden: User "x" cannot get resource "deployments" in API group "apps" in the namespace "d"',
      reason: 'Forbidden',
      details: { name: 'web', group: 'apps', kind: 'deployments' },
      code: 403,
    });
  });

  it('builds the 401 Status', () => {
    expect(unauthorizedStatus()).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Unauthorized',
      reason: 'Unauthorized',
      code: 401,
    });
  });
});

describe('AllowAuthenticated', () => {
  const cases: Array<[string[], boolean]> = [
    [['system:authenticated'], true],
    [['system:masters', 'system:authenticated'], true],
    [['system:unauthenticated'], false],
    [[], false],
  ];
  it.each(cases)('groups %j -> allowed %s', (groups, allowed) => {
    const decision = new AllowAuthenticated().authorize({
      user: { name: 'u', groups },
      verb: 'get',
      apiGroup: '',
      resource: 'pods',
    });
    expect(decision.allowed).toBe(allowed);
  });
});
