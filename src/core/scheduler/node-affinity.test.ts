import { describe, expect, it } from 'vitest';
import {
  matchesNodeSelectorAndAffinity,
  matchField,
  matchRequirement,
  matchTerm,
  preferredAffinityWeight,
} from './node-affinity.js';

const labels = { zone: 'a', cores: '8', gpu: '' };

describe('matchRequirement', () => {
  it.each([
    ['In match', { key: 'zone', operator: 'In', values: ['a', 'b'] }, true],
    ['In miss', { key: 'zone', operator: 'In', values: ['b'] }, false],
    ['In absent', { key: 'rack', operator: 'In', values: ['a'] }, false],
    ['NotIn miss', { key: 'zone', operator: 'NotIn', values: ['b'] }, true],
    ['NotIn match', { key: 'zone', operator: 'NotIn', values: ['a'] }, false],
    ['NotIn absent label matches', { key: 'rack', operator: 'NotIn', values: ['a'] }, true],
    ['Exists (empty value)', { key: 'gpu', operator: 'Exists' }, true],
    ['Exists absent', { key: 'rack', operator: 'Exists' }, false],
    ['DoesNotExist absent', { key: 'rack', operator: 'DoesNotExist' }, true],
    ['DoesNotExist present', { key: 'zone', operator: 'DoesNotExist' }, false],
    ['Gt true', { key: 'cores', operator: 'Gt', values: ['4'] }, true],
    ['Gt equal', { key: 'cores', operator: 'Gt', values: ['8'] }, false],
    ['Lt true', { key: 'cores', operator: 'Lt', values: ['16'] }, true],
    ['Gt non-integer label', { key: 'zone', operator: 'Gt', values: ['1'] }, false],
    ['Gt absent', { key: 'rack', operator: 'Gt', values: ['1'] }, false],
    ['unknown operator', { key: 'zone', operator: 'Like', values: ['a'] }, false],
  ])('%s', (_n, req, want) => expect(matchRequirement(req, labels)).toBe(want));
});

describe('matchField', () => {
  it.each([
    [{ key: 'metadata.name', operator: 'In', values: ['n1'] }, true],
    [{ key: 'metadata.name', operator: 'In', values: ['n2'] }, false],
    [{ key: 'metadata.name', operator: 'NotIn', values: ['n2', 'n3'] }, true],
    [{ key: 'metadata.name', operator: 'NotIn', values: ['n1'] }, false],
    [{ key: 'metadata.uid', operator: 'In', values: ['n1'] }, false],
  ])('%j', (req, want) => expect(matchField(req, 'n1')).toBe(want));
});

describe('matchTerm', () => {
  it.each([
    ['empty term matches nothing', {}, false],
    [
      'expressions ANDed',
      {
        matchExpressions: [
          { key: 'zone', operator: 'In', values: ['a'] },
          { key: 'gpu', operator: 'Exists' },
        ],
      },
      true,
    ],
    [
      'one expression fails',
      {
        matchExpressions: [
          { key: 'zone', operator: 'In', values: ['a'] },
          { key: 'rack', operator: 'Exists' },
        ],
      },
      false,
    ],
    [
      'fields and expressions',
      {
        matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }],
        matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }],
      },
      true,
    ],
  ])('%s', (_n, term, want) => expect(matchTerm(term, labels, 'n1')).toBe(want));
});

describe('matchesNodeSelectorAndAffinity', () => {
  const zoneB = { matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }] };
  const zoneA = { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] };
  it.each([
    ['nothing asked', {}, undefined, true],
    ['nodeSelector match', { zone: 'a' }, undefined, true],
    ['nodeSelector miss', { zone: 'b' }, undefined, false],
    ['terms ORed', {}, [zoneB, zoneA], true],
    ['no term matches', {}, [zoneB], false],
    ['empty term list matches nothing', {}, [], false],
    ['selector and affinity both needed', { zone: 'b' }, [zoneA], false],
  ])('%s', (_n, nodeSelector, requiredTerms, want) =>
    expect(matchesNodeSelectorAndAffinity({ nodeSelector, requiredTerms }, labels, 'n1')).toBe(want),
  );
});

describe('preferredAffinityWeight', () => {
  it('sums the weights of matching terms', () => {
    const terms = [
      { weight: 10, preference: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] } },
      { weight: 5, preference: { matchExpressions: [{ key: 'gpu', operator: 'Exists' }] } },
      { weight: 50, preference: { matchExpressions: [{ key: 'rack', operator: 'Exists' }] } },
    ];
    expect(preferredAffinityWeight(terms, labels, 'n1')).toBe(15);
  });
});
