/**
 * @peculiar/x509 loads tsyringe, which refuses to start unless `Reflect.getMetadata` exists (the
 * `reflect-metadata` polyfill). This is the small part of that API tsyringe uses, installed only when
 * no polyfill is present. Import it (for its side effect) before the first import of @peculiar/x509;
 * the modules of pki/ do.
 */

type Target = object;
type Key = string | symbol | undefined;

const store = new WeakMap<Target, Map<Key, Map<unknown, unknown>>>();

function own(target: Target, property: Key, create: boolean): Map<unknown, unknown> | undefined {
  let byProperty = store.get(target);
  if (!byProperty) {
    if (!create) return undefined;
    byProperty = new Map();
    store.set(target, byProperty);
  }
  let metadata = byProperty.get(property);
  if (!metadata && create) {
    metadata = new Map();
    byProperty.set(property, metadata);
  }
  return metadata;
}

interface MetadataReflect {
  defineMetadata?: (key: unknown, value: unknown, target: Target, property?: Key) => void;
  getOwnMetadata?: (key: unknown, target: Target, property?: Key) => unknown;
  getMetadata?: (key: unknown, target: Target, property?: Key) => unknown;
  hasMetadata?: (key: unknown, target: Target, property?: Key) => boolean;
  metadata?: (key: unknown, value: unknown) => (target: Target, property?: Key) => void;
}

const reflect = Reflect as unknown as MetadataReflect;

if (typeof reflect.getMetadata !== 'function') {
  const getOwnMetadata = (key: unknown, target: Target, property?: Key): unknown =>
    own(target, property, false)?.get(key);
  const getMetadata = (key: unknown, target: Target, property?: Key): unknown => {
    for (let t: Target | null = target; t !== null; t = Object.getPrototypeOf(t) as Target | null) {
      const metadata = own(t, property, false);
      if (metadata?.has(key)) return metadata.get(key);
    }
    return undefined;
  };
  reflect.defineMetadata = (key, value, target, property) => {
    own(target, property, true)!.set(key, value);
  };
  reflect.getOwnMetadata = getOwnMetadata;
  reflect.getMetadata = getMetadata;
  reflect.hasMetadata = (key, target, property) => getMetadata(key, target, property) !== undefined;
  reflect.metadata = (key, value) => (target, property) =>
    reflect.defineMetadata!(key, value, target, property);
}

export {};
