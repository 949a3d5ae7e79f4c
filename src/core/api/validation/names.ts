/**
 * String format checks of Kubernetes names (apimachinery `util/validation`). Each returns the list of
 * problems as upstream words them; an empty list means valid.
 */
import { isIP } from 'node:net';

/** `must be no more than N characters`. */
export function maxLenError(n: number): string {
  return `must be no more than ${n} characters`;
}

/** `must be between lo and hi, inclusive`. */
export function inclusiveRangeError(lo: number, hi: number): string {
  return `must be between ${lo} and ${hi}, inclusive`;
}

export const EMPTY_ERROR = 'must be non-empty';

/** A format message with examples and the regex, as upstream's RegexError prints it. */
export function regexError(msg: string, fmt: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${fmt}')`;
  let s = `${msg} (e.g. `;
  examples.forEach((e, i) => {
    if (i > 0) s += ' or ';
    s += `'${e}', `;
  });
  return `${s}regex used for validation is '${fmt}')`;
}

const dns1123LabelFmt = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const dns1123LabelRe = new RegExp(`^${dns1123LabelFmt}$`);
const dns1123LabelMsg =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
export const DNS1123_LABEL_MAX = 63;

/** RFC 1123 label: namespace names, container names, port names of services. */
export function isDNS1123Label(v: string): string[] {
  const errs: string[] = [];
  if (v.length > DNS1123_LABEL_MAX) errs.push(maxLenError(DNS1123_LABEL_MAX));
  if (!dns1123LabelRe.test(v)) errs.push(regexError(dns1123LabelMsg, dns1123LabelFmt, 'my-name', '123-abc'));
  return errs;
}

const dns1123SubdomainFmt = `${dns1123LabelFmt}(\\.${dns1123LabelFmt})*`;
const dns1123SubdomainRe = new RegExp(`^${dns1123SubdomainFmt}$`);
const dns1123SubdomainMsg =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
export const DNS1123_SUBDOMAIN_MAX = 253;

/** RFC 1123 subdomain: most object names. */
export function isDNS1123Subdomain(v: string): string[] {
  const errs: string[] = [];
  if (v.length > DNS1123_SUBDOMAIN_MAX) errs.push(maxLenError(DNS1123_SUBDOMAIN_MAX));
  if (!dns1123SubdomainRe.test(v))
    errs.push(regexError(dns1123SubdomainMsg, dns1123SubdomainFmt, 'example.com'));
  return errs;
}

const dns1035LabelFmt = '[a-z]([-a-z0-9]*[a-z0-9])?';
const dns1035LabelRe = new RegExp(`^${dns1035LabelFmt}$`);
const dns1035LabelMsg =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";

/** RFC 1035 label: Service names (they become DNS names and env var prefixes). */
export function isDNS1035Label(v: string): string[] {
  const errs: string[] = [];
  if (v.length > DNS1123_LABEL_MAX) errs.push(maxLenError(DNS1123_LABEL_MAX));
  if (!dns1035LabelRe.test(v)) errs.push(regexError(dns1035LabelMsg, dns1035LabelFmt, 'my-name', 'abc-123'));
  return errs;
}

const wildcardFmt = `\\*\\.${dns1123SubdomainFmt}`;
const wildcardRe = new RegExp(`^${wildcardFmt}$`);
const wildcardMsg =
  "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character";

/** `*.example.com`, as accepted in Ingress hosts. */
export function isWildcardDNS1123Subdomain(v: string): string[] {
  const errs: string[] = [];
  if (v.length > DNS1123_SUBDOMAIN_MAX) errs.push(maxLenError(DNS1123_SUBDOMAIN_MAX));
  if (!wildcardRe.test(v)) errs.push(regexError(wildcardMsg, wildcardFmt, '*.example.com'));
  return errs;
}

const qnameFmt = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const qnameRe = new RegExp(`^${qnameFmt}$`);
const qnameMsg =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const QNAME_MAX = 63;

/** Qualified name `[prefix/]name`: label keys, annotation keys, finalizers. */
export function isQualifiedName(v: string): string[] {
  const errs: string[] = [];
  const parts = v.split('/');
  let name: string;
  if (parts.length === 1) {
    name = parts[0]!;
  } else if (parts.length === 2) {
    const prefix = parts[0]!;
    name = parts[1]!;
    if (prefix.length === 0) errs.push(`prefix part ${EMPTY_ERROR}`);
    else for (const m of isDNS1123Subdomain(prefix)) errs.push(`prefix part ${m}`);
  } else {
    errs.push(
      `a qualified name ${regexError(qnameMsg, qnameFmt, 'MyName', 'my.name', '123-abc')} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    );
    return errs;
  }
  if (name.length === 0) errs.push(`name part ${EMPTY_ERROR}`);
  else if (name.length > QNAME_MAX) errs.push(`name part ${maxLenError(QNAME_MAX)}`);
  if (!qnameRe.test(name))
    errs.push(`name part ${regexError(qnameMsg, qnameFmt, 'MyName', 'my.name', '123-abc')}`);
  return errs;
}

const labelValueFmt = `(${qnameFmt})?`;
const labelValueRe = new RegExp(`^${labelValueFmt}$`);
const labelValueMsg =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

/** Label values: empty, or up to 63 alphanumerics with `-_.` inside. */
export function isValidLabelValue(v: string): string[] {
  const errs: string[] = [];
  if (v.length > QNAME_MAX) errs.push(maxLenError(QNAME_MAX));
  if (!labelValueRe.test(v))
    errs.push(regexError(labelValueMsg, labelValueFmt, 'MyValue', 'my_value', '12345'));
  return errs;
}

const configKeyFmt = '[-._a-zA-Z0-9]+';
const configKeyRe = new RegExp(`^${configKeyFmt}$`);
const configKeyMsg = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'";

/** ConfigMap and Secret data keys (they become file names). */
export function isConfigMapKey(v: string): string[] {
  const errs: string[] = [];
  if (v.length > DNS1123_SUBDOMAIN_MAX) errs.push(maxLenError(DNS1123_SUBDOMAIN_MAX));
  if (!configKeyRe.test(v))
    errs.push(regexError(configKeyMsg, configKeyFmt, 'key.name', 'KEY_NAME', 'key-name'));
  if (v === '.') errs.push("must not be '.'");
  else if (v === '..') errs.push("must not be '..'");
  else if (v.startsWith('..')) errs.push("must not start with '..'");
  return errs;
}

/** Environment variable names: any printable ASCII except `=` (upstream's relaxed rule). */
export function isEnvVarName(v: string): string[] {
  const errs: string[] = [];
  if (v.length === 0) errs.push(`environment variable name ${EMPTY_ERROR}`);
  for (const ch of v) {
    const c = ch.codePointAt(0)!;
    if (c < 0x20 || c > 0x7e || ch === '=') {
      errs.push(
        "a valid environment variable name must consist only of printable ASCII characters other than '='",
      );
      break;
    }
  }
  return errs;
}

/** Port numbers 1-65535. */
export function isValidPortNum(port: unknown): string[] {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    return [inclusiveRangeError(1, 65535)];
  }
  return [];
}

/** IANA service names used as port names: up to 15 of `a-z0-9-`, a letter, no `--`, no edge `-`. */
export function isValidPortName(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 15) errs.push(maxLenError(15));
  if (!/^[-a-z0-9]+$/.test(v))
    errs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (v.includes('--')) errs.push('must not contain consecutive hyphens');
  if (v.length > 0 && (v.startsWith('-') || v.endsWith('-')))
    errs.push('must not begin or end with a hyphen');
  if (!/[a-z]/.test(v)) errs.push('must contain at least one letter (a-z)');
  return errs;
}

/** IPv4 or IPv6 address. */
export function isValidIP(v: string): string[] {
  return isIP(v) === 0 ? ['must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'] : [];
}

/** An IPv4 address. */
export function isValidIPv4(v: string): string[] {
  return isIP(v) === 4 ? [] : ['must be a valid IPv4 address'];
}

/** An IPv6 address. */
export function isValidIPv6(v: string): string[] {
  return isIP(v) === 6 ? [] : ['must be a valid IPv6 address'];
}

/** A CIDR such as `10.42.0.0/24` or `fd00::/64`. */
export function isValidCIDR(v: string): string[] {
  const bad = ['must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'];
  const slash = v.indexOf('/');
  if (slash < 0) return bad;
  const fam = isIP(v.slice(0, slash));
  const bits = v.slice(slash + 1);
  if (fam === 0 || !/^\d{1,3}$/.test(bits)) return bad;
  return Number(bits) <= (fam === 4 ? 32 : 128) ? [] : bad;
}

const percentRe = /^[0-9]+%$/;

/** `25%`. */
export function isValidPercent(v: string): string[] {
  return percentRe.test(v)
    ? []
    : [
        regexError(
          "a valid percent string must be a numeric string followed by an ending '%'",
          '[0-9]+%',
          '1%',
          '93%',
        ),
      ];
}

/** Replace a trailing `-` so a generateName prefix validates like a full name (upstream `maskTrailingDash`). */
function maskTrailingDash(v: string): string {
  return v.length > 1 && v.endsWith('-') ? `${v.slice(0, -1)}a` : v;
}

/** Validates a name (or with `prefix`, a generateName) and returns problems. */
export type NameValidator = (name: string, prefix: boolean) => string[];

/** Names that are DNS-1123 subdomains: most kinds. */
export const nameIsDNSSubdomain: NameValidator = (name, prefix) =>
  isDNS1123Subdomain(prefix ? maskTrailingDash(name) : name);

/** Names that are DNS-1123 labels: Namespace. */
export const nameIsDNSLabel: NameValidator = (name, prefix) =>
  isDNS1123Label(prefix ? maskTrailingDash(name) : name);

/** Names that are DNS-1035 labels: Service. */
export const nameIsDNS1035Label: NameValidator = (name, prefix) =>
  isDNS1035Label(prefix ? maskTrailingDash(name) : name);

/** Namespace names (DNS-1123 labels). */
export const validateNamespaceName: NameValidator = nameIsDNSLabel;
