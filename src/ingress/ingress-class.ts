/**
 * Which Ingresses are ours: those whose class is an IngressClass with `spec.controller:
 * k8ts.io/ingress` (named by spec.ingressClassName, or by the legacy `kubernetes.io/ingress.class`
 * annotation), and those naming no class at all when one of our classes is the default. Pure.
 */
import type { Ingress, IngressClass } from 'kubernetes-types/networking/v1.js';

export const CONTROLLER_NAME = 'k8ts.io/ingress';
export const DEFAULT_CLASS_NAME = 'k8ts';
export const DEFAULT_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';
export const LEGACY_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';

export interface ClassSelector {
  /** Names of the IngressClasses whose controller is ours. */
  names: ReadonlySet<string>;
  /** True when one of them is annotated as the cluster's default class. */
  isDefault: boolean;
}

/** Our classes among all IngressClasses. */
export function ourClasses(classes: Iterable<IngressClass>, controller = CONTROLLER_NAME): ClassSelector {
  const names = new Set<string>();
  let isDefault = false;
  for (const c of classes) {
    if (c.spec?.controller !== controller || !c.metadata?.name) continue;
    names.add(c.metadata.name);
    if (c.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true') isDefault = true;
  }
  return { names, isDefault };
}

/** True when this controller serves the Ingress. */
export function isOurIngress(ing: Ingress, sel: ClassSelector): boolean {
  const cls = ing.spec?.ingressClassName;
  if (cls) return sel.names.has(cls);
  const legacy = ing.metadata?.annotations?.[LEGACY_CLASS_ANNOTATION];
  if (legacy !== undefined && legacy !== '') return sel.names.has(legacy);
  return sel.isDefault;
}

/** The IngressClass the controller installs when no class of its controller exists: the default class. */
export function defaultIngressClass(name = DEFAULT_CLASS_NAME, controller = CONTROLLER_NAME): IngressClass {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: {
      name,
      annotations: { [DEFAULT_CLASS_ANNOTATION]: 'true' },
      labels: { 'app.kubernetes.io/name': 'k8ts-ingress' },
    },
    spec: { controller },
  };
}
