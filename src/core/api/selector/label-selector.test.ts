import { describe, expect, it } from 'vitest';
import { SelectorParseError } from './errors.js';
import {
  isEverything,
  labelSelectorFromObject,
  labelSelectorToString,
  labelsMatch,
  parseLabelSelector,
} from './label-selector.js';

describe('parseLabelSelector: round trip to canonical string', () => {
  const cases: [string, string][] = [
    ['', ''],
    ['a=b', 'a=b'],
    ['a==b', 'a==b'],
    ['a!=b', 'a!=b'],
    ['x=a,y=b,z=c', 'x=a,y=b,z=c'],
    ['z=c,x=a', 'x=a,z=c'],
    [' x = a , y != b ', 'x=a,y!=b'],
    ['x in (foo,bar,baz)', 'x in (bar,baz,foo)'],
    ['x notin (z)', 'x notin (z)'],
    ['x in (a,a,b)', 'x in (a,b)'],
    ['x in ()', 'x in ()'],
    ['x in (,a)', 'x in (,a)'],
    ['x in (a,)', 'x in (,a)'],
    ['x', 'x'],
    ['!x', '!x'],
    ['  !x ,y', '!x,y'],
    ['x>1', 'x>1'],
    ['x<10', 'x<10'],
    ['x=', 'x='],
    ['x=,y=a', 'x=,y=a'],
    ['example.com/app=web', 'example.com/app=web'],
    ['in=notin', 'in=notin'],
    ['x in (in,notin)', 'x in (in,notin)'],
    [
      'environment in (production, qa),tier notin (frontend,backend),partition',
      'environment in (production,qa),partition,tier notin (backend,frontend)',
    ],
  ];
  it.each(cases)('%j -> %j', (input, want) => {
    expect(labelSelectorToString(parseLabelSelector(input))).toBe(want);
  });

  it('the empty selector selects everything', () => {
    expect(isEverything(parseLabelSelector(''))).toBe(true);
    expect(isEverything(parseLabelSelector('a'))).toBe(false);
  });
});

describe('parseLabelSelector: errors', () => {
  const cases: [string, string][] = [
    ['x=a||y=b', 'unable to parse requirement: values[0][x]: Invalid value: "a||y"'],
    ['x<-1', 'unable to parse requirement: values[0][x]: Invalid value: "-1"'],
    ['x=(a)', "unable to parse requirement: found '(', expected: identifier"],
    ['x=a,', "found '', expected: identifier after ','"],
    [',x=a', "found ',', expected: !, identifier, or 'end of string'"],
    ['x in', "unable to parse requirement: found '' expected: '('"],
    ['x in (a', "unable to parse requirement: found '', expected: ',' or ')'"],
    ['x ~ a', "unable to parse requirement: found '~', expected: in, notin, =, ==, !=, gt, lt"],
    ['x=a y=b', "found 'y', expected: ',' or 'end of string'"],
    ['!x=a', "found '=', expected: ',' or 'end of string'"],
    [
      'x>a',
      "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the value must be an integer",
    ],
    ['x=a b', "found 'b', expected: ',' or 'end of string'"],
    [
      'x=a@b',
      "unable to parse requirement: values[0][x]: Invalid value: \"a@b\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
    ],
    [
      '-x=a',
      "unable to parse requirement: <nil>: Invalid value: \"-x\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
    ],
    [
      'Foo.com/a=b',
      'unable to parse requirement: <nil>: Invalid value: "Foo.com/a": prefix part a lowercase RFC 1123 subdomain',
    ],
    ['/a=b', 'unable to parse requirement: <nil>: Invalid value: "/a": prefix part must be non-empty'],
    ['a/b/c', 'unable to parse requirement: <nil>: Invalid value: "a/b/c": a qualified name must consist of'],
    [`${'k'.repeat(64)}=v`, 'name part must be no more than 63 characters'],
    [`k=${'v'.repeat(64)}`, 'must be no more than 63 characters'],
  ];
  it.each(cases)('%j', (input, want) => {
    let err: unknown;
    try {
      parseLabelSelector(input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SelectorParseError);
    expect((err as SelectorParseError).code).toBe('InvalidLabelSelector');
    expect((err as SelectorParseError).message).toContain(want);
    expect((err as SelectorParseError).selector).toBe(input);
  });
});

describe('labelsMatch on parsed selectors', () => {
  const labels = { app: 'web', tier: 'frontend', version: '3', empty: '' };
  const cases: [string, Record<string, string> | undefined, boolean][] = [
    ['', labels, true],
    ['', undefined, true],
    ['app=web', labels, true],
    ['app==web', labels, true],
    ['app=db', labels, false],
    ['app!=db', labels, true],
    ['app!=web', labels, false],
    ['missing!=x', labels, true],
    ['missing=x', labels, false],
    ['missing=', labels, false],
    ['empty=', labels, true],
    ['app in (web,db)', labels, true],
    ['app in (db)', labels, false],
    ['missing in (a)', labels, false],
    ['app notin (web)', labels, false],
    ['app notin (db)', labels, true],
    ['missing notin (db)', labels, true],
    ['app', labels, true],
    ['missing', labels, false],
    ['!missing', labels, true],
    ['!app', labels, false],
    ['version>2', labels, true],
    ['version>3', labels, false],
    ['version<4', labels, true],
    ['version<3', labels, false],
    ['app>1', labels, false],
    ['missing<10', labels, false],
    ['app=web,tier=frontend', labels, true],
    ['app=web,tier=backend', labels, false],
    ['app=web', undefined, false],
    ['!app', undefined, true],
  ];
  it.each(cases)('%j on %j -> %s', (sel, l, want) => {
    expect(labelsMatch(parseLabelSelector(sel), l)).toBe(want);
  });
});

describe('labelSelectorFromObject', () => {
  it('null selects nothing, {} selects everything', () => {
    expect(labelsMatch(labelSelectorFromObject(null), { a: 'b' })).toBe(false);
    expect(labelsMatch(labelSelectorFromObject(undefined), {})).toBe(false);
    expect(labelsMatch(labelSelectorFromObject({}), { a: 'b' })).toBe(true);
  });

  const cases: [string, Parameters<typeof labelSelectorFromObject>[0], string][] = [
    ['matchLabels', { matchLabels: { b: '2', a: '1' } }, 'a=1,b=2'],
    [
      'expressions',
      {
        matchExpressions: [
          { key: 'z', operator: 'In', values: ['y', 'x'] },
          { key: 'n', operator: 'NotIn', values: ['q'] },
          { key: 'e', operator: 'Exists' },
          { key: 'd', operator: 'DoesNotExist' },
        ],
      },
      '!d,e,n notin (q),z in (x,y)',
    ],
    [
      'both',
      { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['fe'] }] },
      'app=web,tier in (fe)',
    ],
  ];
  it.each(cases)('%s', (_name, obj, want) => {
    expect(labelSelectorToString(labelSelectorFromObject(obj))).toBe(want);
  });

  it('matches as the string form does', () => {
    const sel = labelSelectorFromObject({
      matchLabels: { app: 'web' },
      matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }],
    });
    expect(labelsMatch(sel, { app: 'web' })).toBe(true);
    expect(labelsMatch(sel, { app: 'web', env: 'dev' })).toBe(true);
    expect(labelsMatch(sel, { app: 'web', env: 'prod' })).toBe(false);
    expect(labelsMatch(sel, { app: 'db' })).toBe(false);
  });

  const bad: [string, Parameters<typeof labelSelectorFromObject>[0], string, string][] = [
    [
      'bad operator',
      { matchExpressions: [{ key: 'a', operator: 'Gt', values: ['1'] }] },
      'InvalidLabelSelectorOperator',
      '"Gt" is not a valid label selector operator',
    ],
    [
      'In without values',
      { matchExpressions: [{ key: 'a', operator: 'In' }] },
      'InvalidLabelSelector',
      "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty",
    ],
    [
      'Exists with values',
      { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] },
      'InvalidLabelSelector',
      'values: Invalid value: []string{"x"}: values set must be empty for exists and does not exist',
    ],
    [
      'bad key',
      { matchLabels: { '-a': 'b' } },
      'InvalidLabelSelector',
      'key: Invalid value: "-a": name part must',
    ],
  ];
  it.each(bad)('%s', (_name, obj, code, msg) => {
    let err: unknown;
    try {
      labelSelectorFromObject(obj);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SelectorParseError);
    expect((err as SelectorParseError).code).toBe(code);
    expect((err as SelectorParseError).message).toContain(msg);
  });
});
