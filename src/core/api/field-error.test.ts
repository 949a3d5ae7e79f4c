import { describe, expect, it } from 'vitest';
import {
  duplicate,
  type FieldError,
  fieldErrorMessage,
  forbidden,
  goIntOrString,
  goLabelSelector,
  goQuote,
  goStringMap,
  invalid,
  invalidStatusMessage,
  notFound,
  notSupported,
  required,
  statusCauses,
  tooLong,
  tooMany,
} from './field-error.js';

describe('fieldErrorMessage', () => {
  const cases: [string, FieldError, string][] = [
    ['required', required('spec.containers'), 'spec.containers: Required value'],
    [
      'required with detail',
      required('metadata.name', 'name or generateName is required'),
      'metadata.name: Required value: name or generateName is required',
    ],
    [
      'invalid int',
      invalid('spec.ports[0].port', 70000, 'must be between 1 and 65535, inclusive'),
      'spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive',
    ],
    [
      'invalid string',
      invalid('spec.clusterIP', '10.43.0.99', 'field is immutable'),
      'spec.clusterIP: Invalid value: "10.43.0.99": field is immutable',
    ],
    ['invalid null', invalid('x', undefined, 'bad'), 'x: Invalid value: null: bad'],
    ['invalid bool', invalid('x', true, 'bad'), 'x: Invalid value: true: bad'],
    [
      'not supported',
      notSupported('spec.containers[0].imagePullPolicy', 'Foo', ['Always', 'IfNotPresent', 'Never']),
      'spec.containers[0].imagePullPolicy: Unsupported value: "Foo": supported values: "Always", "IfNotPresent", "Never"',
    ],
    ['duplicate', duplicate('spec.containers[1].name', 'a'), 'spec.containers[1].name: Duplicate value: "a"'],
    [
      'not found',
      notFound('spec.containers[0].volumeMounts[0].name', 'v'),
      'spec.containers[0].volumeMounts[0].name: Not found: "v"',
    ],
    [
      'forbidden',
      forbidden('metadata.namespace', 'not allowed on this type'),
      'metadata.namespace: Forbidden: not allowed on this type',
    ],
    [
      'too long hides the value',
      tooLong('metadata.annotations', 'huge', 262144),
      'metadata.annotations: Too long: may not be more than 262144 bytes',
    ],
    ['too many', tooMany('endpoints', 1001, 1000), 'endpoints: Too many: 1001: must have at most 1000 items'],
    ['no field', tooLong('', '', 1), 'Too long: may not be more than 1 byte'],
    [
      'go map value',
      invalid(
        'spec.template.metadata.labels',
        goStringMap({ b: '2', app: 'x' }),
        '`selector` does not match template `labels`',
      ),
      'spec.template.metadata.labels: Invalid value: map[string]string{"app":"x", "b":"2"}: `selector` does not match template `labels`',
    ],
    ['string slice', invalid('f', ['a', 'b'], 'd'), 'f: Invalid value: []string{"a", "b"}: d'],
  ];
  it.each(cases)('%s', (_n, e, want) => {
    expect(fieldErrorMessage(e)).toBe(want);
  });
});

describe('go value rendering', () => {
  it.each([
    [
      goLabelSelector({ matchLabels: { app: 'web2' } }).repr,
      'v1.LabelSelector{MatchLabels:map[string]string{"app":"web2"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}',
    ],
    [
      goLabelSelector({ matchExpressions: [{ key: 'k', operator: 'In', values: ['a'] }] }).repr,
      'v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement{v1.LabelSelectorRequirement{Key:"k", Operator:"In", Values:[]string{"a"}}}}',
    ],
    [goStringMap(undefined).repr, 'map[string]string(nil)'],
    [goIntOrString(0).repr, 'intstr.IntOrString{Type:0, IntVal:0, StrVal:""}'],
    [goIntOrString('0%').repr, 'intstr.IntOrString{Type:1, IntVal:0, StrVal:"0%"}'],
    [goQuote('a"b\n\u0001'), '"a\\"b\\n\\x01"'],
  ])('%s', (got, want) => {
    expect(got).toBe(want);
  });
});

describe('invalidStatusMessage', () => {
  const a = required('spec.containers');
  const b = invalid('metadata.name', 'Foo', 'bad');
  it.each([
    ['core kind, one error', 'Pod', '', [a], 'Pod "x" is invalid: spec.containers: Required value'],
    [
      'grouped kind, two errors',
      'Deployment',
      'apps',
      [a, b],
      'Deployment.apps "x" is invalid: [spec.containers: Required value, metadata.name: Invalid value: "Foo": bad]',
    ],
    ['duplicates collapse', 'Pod', '', [a, a], 'Pod "x" is invalid: spec.containers: Required value'],
    ['no errors', 'Pod', '', [], 'Pod "x" is invalid'],
  ] as const)('%s', (_n, kind, group, errs, want) => {
    expect(invalidStatusMessage(kind, group, 'x', errs)).toBe(want);
  });

  it('builds status causes from the body and field', () => {
    expect(statusCauses([b])).toEqual([
      { reason: 'FieldValueInvalid', message: 'Invalid value: "Foo": bad', field: 'metadata.name' },
    ]);
  });
});
