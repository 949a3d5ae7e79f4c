/**
 * ConfigMap, Secret and ServiceAccount validation.
 */
import type { ConfigMap, Secret, ServiceAccount } from 'kubernetes-types/core/v1.js';
import { type FieldError, forbidden, invalid, required, tooLong } from '../field-error.js';
import { jsonEqual, validateImmutable } from './common.js';
import { isConfigMapKey, isDNS1123Subdomain } from './names.js';

/** Upstream caps ConfigMaps and Secrets at 1 MiB of data. */
export const MAX_DATA_SIZE = 1024 * 1024;
const IMMUTABLE_MSG = 'field is immutable when `immutable` is set';

/** A ConfigMap: keys are config keys, unique across data and binaryData, 1 MiB in total. */
export function validateConfigMap(cm: ConfigMap): FieldError[] {
  const errs: FieldError[] = [];
  let total = 0;
  for (const [k, v] of Object.entries(cm.data ?? {})) {
    for (const m of isConfigMapKey(k)) errs.push(invalid(`data[${k}]`, k, m));
    if (cm.binaryData && Object.hasOwn(cm.binaryData, k)) {
      errs.push(invalid(`data[${k}]`, k, 'duplicate of key present in binaryData'));
    }
    total += Buffer.byteLength(String(v));
  }
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) {
    for (const m of isConfigMapKey(k)) errs.push(invalid(`binaryData[${k}]`, k, m));
    total += Buffer.from(String(v), 'base64').length;
  }
  if (total > MAX_DATA_SIZE) errs.push(tooLong('', '', MAX_DATA_SIZE));
  return errs;
}

function validateImmutableData(
  n: { immutable?: boolean; data?: unknown; binaryData?: unknown },
  o: { immutable?: boolean; data?: unknown; binaryData?: unknown },
  binaryKey: 'binaryData' | undefined,
): FieldError[] {
  if (o.immutable !== true) return [];
  const errs: FieldError[] = [];
  if (n.immutable !== true) errs.push(forbidden('immutable', IMMUTABLE_MSG));
  if (!jsonEqual(n.data, o.data)) errs.push(forbidden('data', IMMUTABLE_MSG));
  if (binaryKey && !jsonEqual(n.binaryData, o.binaryData)) errs.push(forbidden(binaryKey, IMMUTABLE_MSG));
  return errs;
}

/** A ConfigMap update: nothing may change once `immutable` is true. */
export function validateConfigMapUpdate(cm: ConfigMap, old: ConfigMap): FieldError[] {
  return [...validateConfigMap(cm), ...validateImmutableData(cm, old, 'binaryData')];
}

const base64Re = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function decoded(s: Secret, key: string): string | undefined {
  const v = s.data?.[key];
  return v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');
}

/** A Secret: keys, base64 values, 1 MiB total, and the keys each well-known type requires. */
export function validateSecret(s: Secret): FieldError[] {
  const errs: FieldError[] = [];
  let total = 0;
  for (const [k, v] of Object.entries(s.data ?? {})) {
    for (const m of isConfigMapKey(k)) errs.push(invalid(`data[${k}]`, k, m));
    if (typeof v !== 'string' || !base64Re.test(v))
      errs.push(invalid(`data[${k}]`, '<secret contents redacted>', 'illegal base64 data'));
    else total += Buffer.from(v, 'base64').length;
  }
  if (total > MAX_DATA_SIZE) errs.push(tooLong('data', '', MAX_DATA_SIZE));
  const has = (k: string) => s.data !== undefined && Object.hasOwn(s.data, k);
  switch (s.type) {
    case 'kubernetes.io/service-account-token':
      if (!s.metadata?.annotations?.['kubernetes.io/service-account.name']) {
        errs.push(required('metadata.annotations[kubernetes.io/service-account.name]', ''));
      }
      break;
    case 'kubernetes.io/dockercfg':
    case 'kubernetes.io/dockerconfigjson': {
      const key = s.type === 'kubernetes.io/dockercfg' ? '.dockercfg' : '.dockerconfigjson';
      if (!has(key)) errs.push(required(`data[${key}]`, ''));
      else {
        try {
          JSON.parse(decoded(s, key) ?? '');
        } catch (e) {
          errs.push(
            invalid(`data[${key}]`, '<secret contents redacted>', e instanceof Error ? e.message : String(e)),
          );
        }
      }
      break;
    }
    case 'kubernetes.io/basic-auth':
      if (!has('username') && !has('password')) {
        errs.push(required('data[username]', ''), required('data[password]', ''));
      }
      break;
    case 'kubernetes.io/ssh-auth':
      if (!has('ssh-privatekey')) errs.push(required('data[ssh-privatekey]', ''));
      break;
    case 'kubernetes.io/tls':
      if (!has('tls.crt')) errs.push(required('data[tls.crt]', ''));
      if (!has('tls.key')) errs.push(required('data[tls.key]', ''));
      break;
    default:
      break;
  }
  return errs;
}

/** A Secret update: type is immutable, and data once `immutable` is set. */
export function validateSecretUpdate(s: Secret, old: Secret): FieldError[] {
  return [
    ...validateSecret(s),
    ...validateImmutable(s.type ?? '', old.type ?? '', 'type'),
    ...validateImmutableData(s, old, undefined),
  ];
}

/** A ServiceAccount: referenced secrets and pull secrets need names. */
export function validateServiceAccount(sa: ServiceAccount): FieldError[] {
  const errs: FieldError[] = [];
  (sa.secrets ?? []).forEach((r, i) => {
    if (r.name)
      for (const m of isDNS1123Subdomain(r.name)) errs.push(invalid(`secrets[${i}].name`, r.name, m));
  });
  (sa.imagePullSecrets ?? []).forEach((r, i) => {
    if (!r.name) errs.push(required(`imagePullSecrets[${i}].name`, ''));
  });
  return errs;
}
