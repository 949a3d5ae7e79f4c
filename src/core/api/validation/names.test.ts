import { describe, expect, it } from 'vitest';
import {
  isConfigMapKey,
  isDNS1035Label,
  isDNS1123Label,
  isDNS1123Subdomain,
  isEnvVarName,
  isQualifiedName,
  isValidCIDR,
  isValidIP,
  isValidLabelValue,
  isValidPortName,
  isValidPortNum,
  isWildcardDNS1123Subdomain,
  nameIsDNSSubdomain,
} from './names.js';

type Check = (v: string) => string[];

const valid: [string, Check, string][] = [
  ['label', isDNS1123Label, 'my-name'],
  ['label digits first', isDNS1123Label, '123-abc'],
  ['subdomain', isDNS1123Subdomain, 'example.com'],
  ['1035', isDNS1035Label, 'web'],
  ['wildcard', isWildcardDNS1123Subdomain, '*.example.com'],
  ['qname', isQualifiedName, 'app.kubernetes.io/name'],
  ['qname upper', isQualifiedName, 'MyName'],
  ['label value empty', isValidLabelValue, ''],
  ['label value', isValidLabelValue, 'my_value-1.2'],
  ['config key', isConfigMapKey, 'app.properties'],
  ['env any printable', isEnvVarName, 'my-var.1 (x)'],
  ['port name', isValidPortName, 'http-alt'],
  ['ip4', isValidIP, '10.43.0.1'],
  ['ip6', isValidIP, 'fd00::1'],
  ['cidr', isValidCIDR, '10.42.0.0/24'],
];

describe('valid names', () => {
  it.each(valid)('%s: %s', (_n, fn, v) => {
    expect(fn(v)).toEqual([]);
  });
});

const invalidCases: [string, Check, string, string][] = [
  [
    'subdomain uppercase',
    isDNS1123Subdomain,
    'Foo',
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
  ],
  [
    'label with dot',
    isDNS1123Label,
    'a.b',
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
  ],
  ['label too long', isDNS1123Label, 'a'.repeat(64), 'must be no more than 63 characters'],
  [
    '1035 digit first',
    isDNS1035Label,
    '1web',
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
  ],
  ['qname empty prefix', isQualifiedName, '/x', 'prefix part must be non-empty'],
  [
    'qname bad name',
    isQualifiedName,
    'a/-x',
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
  ],
  ['label value too long', isValidLabelValue, 'x'.repeat(64), 'must be no more than 63 characters'],
  [
    'config key slash',
    isConfigMapKey,
    'a/b',
    expectPrefix("a valid config key must consist of alphanumeric characters, '-', '_' or '.'"),
  ],
  ['config key dots', isConfigMapKey, '..a', "must not start with '..'"],
  [
    'env with =',
    isEnvVarName,
    'A=B',
    "a valid environment variable name must consist only of printable ASCII characters other than '='",
  ],
  [
    'port name caps',
    isValidPortName,
    'HTTP',
    'must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
  ],
  ['port name digits', isValidPortName, '8080', 'must contain at least one letter (a-z)'],
  ['port name long', isValidPortName, 'abcdefghijklmnop', 'must be no more than 15 characters'],
  ['port name hyphens', isValidPortName, 'a--b', 'must not contain consecutive hyphens'],
  ['ip', isValidIP, '10.0.0.256', 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'],
  [
    'cidr bits',
    isValidCIDR,
    '10.0.0.0/33',
    'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
  ],
];

function expectPrefix(s: string): string {
  return `${s} (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`;
}

describe('invalid names', () => {
  it.each(invalidCases)('%s: %s', (_n, fn, v, msg) => {
    expect(fn(v)).toContain(msg);
  });
});

describe('ports and prefixes', () => {
  it.each([0, 65536, 1.5, -1])('port %s is out of range', (p) => {
    expect(isValidPortNum(p)).toEqual(['must be between 1 and 65535, inclusive']);
  });
  it.each([1, 80, 65535])('port %s is fine', (p) => {
    expect(isValidPortNum(p)).toEqual([]);
  });
  it('accepts a generateName prefix with a trailing dash, not as a full name', () => {
    expect(nameIsDNSSubdomain('web-', true)).toEqual([]);
    expect(nameIsDNSSubdomain('web-', false)).toHaveLength(1);
  });
});
