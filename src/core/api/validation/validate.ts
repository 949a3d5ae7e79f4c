/**
 * Validation entry points of the API server: one table of per-kind checks keyed by `group/Kind`.
 * Objects are expected to be defaulted (see `../defaults/defaults.ts`) before they are validated,
 * as upstream validates after defaulting.
 */
import type { ObjectMeta } from 'kubernetes-types/meta/v1.js';
import type { FieldError } from '../field-error.js';
import type { ResourceInfo } from '../resources.js';
import { validateCsr, validateCsrStatusUpdate, validateCsrUpdate } from './certificates.js';
import {
  validateEvent,
  validateLease,
  validateNamespace,
  validateNamespaceStatus,
  validateNode,
  validateNodeStatus,
  validateNodeUpdate,
} from './cluster.js';
import {
  validateConfigMap,
  validateConfigMapUpdate,
  validateSecret,
  validateSecretUpdate,
  validateServiceAccount,
} from './config.js';
import { validateControllerRevision, validateControllerRevisionUpdate } from './controller-revision.js';
import { validateCronJob, validateCronJobUpdate } from './cronjob.js';
import { type NameValidator, nameIsDNS1035Label, nameIsDNSLabel, nameIsDNSSubdomain } from './names.js';
import {
  validateEndpointSlice,
  validateEndpointSliceUpdate,
  validateEndpoints,
  validateIngress,
  validateIngressClass,
  validateIngressClassUpdate,
  validateIngressCreate,
  validateIngressStatus,
} from './networking.js';
import { validateObjectMeta, validateObjectMetaUpdate } from './object-meta.js';
import { validatePod, validatePodStatus, validatePodUpdate } from './pod.js';
import { validateService, validateServiceStatus, validateServiceUpdate } from './service.js';
import {
  validateDaemonSet,
  validateDaemonSetUpdate,
  validateDeployment,
  validateDeploymentUpdate,
  validateJob,
  validateJobUpdate,
  validateReplicaSet,
  validateReplicaSetUpdate,
  validateStatefulSet,
  validateStatefulSetUpdate,
  validateWorkloadStatus,
} from './workloads.js';

// Each entry narrows `any` to its own kubernetes-types type.
type AnyObj = any;

interface KindRules {
  nameFn: NameValidator;
  create: (obj: AnyObj) => FieldError[];
  /** Defaults to `create` applied to the new object. */
  update?: (obj: AnyObj, old: AnyObj) => FieldError[];
  /** Checks of a status write; none when absent. */
  status?: (obj: AnyObj, old: AnyObj) => FieldError[];
}

const none = (): FieldError[] => [];

const RULES: Record<string, KindRules> = {
  '/Namespace': { nameFn: nameIsDNSLabel, create: validateNamespace, status: validateNamespaceStatus },
  '/Pod': {
    nameFn: nameIsDNSSubdomain,
    create: validatePod,
    update: validatePodUpdate,
    status: validatePodStatus,
  },
  '/Service': {
    nameFn: nameIsDNS1035Label,
    create: validateService,
    update: validateServiceUpdate,
    status: validateServiceStatus,
  },
  '/Endpoints': { nameFn: nameIsDNSSubdomain, create: validateEndpoints },
  '/Node': {
    nameFn: nameIsDNSSubdomain,
    create: validateNode,
    update: validateNodeUpdate,
    status: validateNodeStatus,
  },
  '/ConfigMap': { nameFn: nameIsDNSSubdomain, create: validateConfigMap, update: validateConfigMapUpdate },
  '/Secret': { nameFn: nameIsDNSSubdomain, create: validateSecret, update: validateSecretUpdate },
  '/ServiceAccount': { nameFn: nameIsDNSSubdomain, create: validateServiceAccount },
  '/Event': { nameFn: nameIsDNSSubdomain, create: validateEvent },
  'apps/Deployment': {
    nameFn: nameIsDNSSubdomain,
    create: validateDeployment,
    update: validateDeploymentUpdate,
    status: validateWorkloadStatus,
  },
  'apps/ReplicaSet': {
    nameFn: nameIsDNSSubdomain,
    create: validateReplicaSet,
    update: validateReplicaSetUpdate,
    status: validateWorkloadStatus,
  },
  'apps/DaemonSet': {
    nameFn: nameIsDNSSubdomain,
    create: validateDaemonSet,
    update: validateDaemonSetUpdate,
    status: validateWorkloadStatus,
  },
  'apps/StatefulSet': {
    nameFn: nameIsDNSSubdomain,
    create: validateStatefulSet,
    update: validateStatefulSetUpdate,
    status: validateWorkloadStatus,
  },
  'batch/Job': {
    nameFn: nameIsDNSSubdomain,
    create: validateJob,
    update: validateJobUpdate,
    status: validateWorkloadStatus,
  },
  'batch/CronJob': {
    nameFn: nameIsDNSSubdomain,
    create: validateCronJob,
    update: validateCronJobUpdate,
    status: none,
  },
  'networking.k8s.io/Ingress': {
    nameFn: nameIsDNSSubdomain,
    create: validateIngressCreate,
    update: validateIngress,
    status: validateIngressStatus,
  },
  'networking.k8s.io/IngressClass': {
    nameFn: nameIsDNSSubdomain,
    create: validateIngressClass,
    update: validateIngressClassUpdate,
  },
  'discovery.k8s.io/EndpointSlice': {
    nameFn: nameIsDNSSubdomain,
    create: validateEndpointSlice,
    update: validateEndpointSliceUpdate,
  },
  'coordination.k8s.io/Lease': { nameFn: nameIsDNSSubdomain, create: validateLease },
  'certificates.k8s.io/CertificateSigningRequest': {
    nameFn: nameIsDNSSubdomain,
    create: validateCsr,
    update: validateCsrUpdate,
    status: validateCsrStatusUpdate,
  },
  'apps/ControllerRevision': {
    nameFn: nameIsDNSSubdomain,
    create: validateControllerRevision,
    update: validateControllerRevisionUpdate,
  },
};

const fallback: KindRules = { nameFn: nameIsDNSSubdomain, create: none };

function rulesFor(info: ResourceInfo): KindRules {
  return RULES[`${info.group}/${info.kind}`] ?? fallback;
}

function metaOf(obj: unknown): ObjectMeta | undefined {
  if (typeof obj !== 'object' || obj === null) return undefined;
  return (obj as { metadata?: ObjectMeta }).metadata;
}

/** The name validator of a kind (for generateName handling and name checks elsewhere). */
export function nameValidatorFor(info: ResourceInfo): NameValidator {
  return rulesFor(info).nameFn;
}

/** Validate a new object of `info`'s kind: metadata plus the kind's own rules. */
export function validateCreate(info: ResourceInfo, obj: unknown): FieldError[] {
  const r = rulesFor(info);
  return [
    ...validateObjectMeta(metaOf(obj), { namespaced: info.namespaced, nameFn: r.nameFn }),
    ...r.create(obj),
  ];
}

/** Validate a full update: metadata immutability, the kind's rules on the new object and its immutable fields. */
export function validateUpdate(info: ResourceInfo, obj: unknown, old: unknown): FieldError[] {
  const r = rulesFor(info);
  const metaErrs = validateObjectMetaUpdate(metaOf(obj), metaOf(old), {
    namespaced: info.namespaced,
    nameFn: r.nameFn,
  });
  return [...metaErrs, ...(r.update ? r.update(obj, old) : r.create(obj))];
}

/** Validate a write to the status subresource: metadata immutability plus the kind's status rules. */
export function validateStatusUpdate(info: ResourceInfo, obj: unknown, old: unknown): FieldError[] {
  const r = rulesFor(info);
  const metaErrs = validateObjectMetaUpdate(metaOf(obj), metaOf(old), {
    namespaced: info.namespaced,
    nameFn: r.nameFn,
  });
  return [...metaErrs, ...(r.status ? r.status(obj, old) : [])];
}
