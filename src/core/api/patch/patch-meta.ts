/**
 * Patch and list metadata of the built-in kinds, hand-written from the struct tags of the upstream
 * Go types (`patchStrategy`, `patchMergeKey`, `+listType`, `+listMapKey`). Strategic merge patch
 * and server-side apply both read it. Only fields whose metadata matters are listed; a field not
 * listed is a plain field (scalar, map or atomic list).
 */

export interface ListMeta {
  strategy?: 'merge' | 'replace' | 'retainKeys' | 'merge,retainKeys';
  mergeKey?: string;
  listType?: 'atomic' | 'set' | 'map';
  mapKeys?: string[];
}

/** One field of a struct: its element/struct type (by name) and its list metadata. */
interface FieldDef {
  type?: string;
  meta?: ListMeta;
}

type Struct = Record<string, FieldDef>;

const atomic: FieldDef = { meta: { listType: 'atomic' } };

function byKey(key: string, type?: string, extra: Partial<ListMeta> = {}): FieldDef {
  const meta: ListMeta = { strategy: 'merge', mergeKey: key, listType: 'map', mapKeys: [key], ...extra };
  return type === undefined ? { meta } : { type, meta };
}

function of(type: string, meta?: ListMeta): FieldDef {
  return meta === undefined ? { type } : { type, meta };
}

const conditions = byKey('type');

/** Struct types by name. Element types of lists are named by the list field's `type`. */
const STRUCTS: Record<string, Struct> = {
  ObjectMeta: {
    finalizers: { meta: { strategy: 'merge', listType: 'set' } },
    ownerReferences: byKey('uid'),
    managedFields: atomic,
  },
  LabelSelector: {
    matchExpressions: of('LabelSelectorRequirement', { listType: 'atomic' }),
  },
  LabelSelectorRequirement: { values: atomic },
  PodTemplateSpec: { metadata: of('ObjectMeta'), spec: of('PodSpec') },
  PodSpec: {
    volumes: byKey('name', 'Volume', { strategy: 'merge,retainKeys' }),
    initContainers: byKey('name', 'Container'),
    containers: byKey('name', 'Container'),
    ephemeralContainers: byKey('name', 'Container'),
    imagePullSecrets: byKey('name'),
    hostAliases: byKey('ip', 'HostAlias'),
    tolerations: atomic,
    topologySpreadConstraints: byKey('topologyKey', 'TopologySpreadConstraint', {
      mapKeys: ['topologyKey', 'whenUnsatisfiable'],
    }),
    readinessGates: atomic,
    schedulingGates: byKey('name'),
    resourceClaims: byKey('name', undefined, { strategy: 'merge,retainKeys' }),
    securityContext: of('PodSecurityContext'),
    affinity: of('Affinity'),
    dnsConfig: of('PodDNSConfig'),
  },
  HostAlias: { hostnames: atomic },
  TopologySpreadConstraint: { labelSelector: of('LabelSelector'), matchLabelKeys: atomic },
  PodSecurityContext: { supplementalGroups: atomic, sysctls: atomic },
  PodDNSConfig: { nameservers: atomic, searches: atomic, options: atomic },
  Affinity: {
    nodeAffinity: of('NodeAffinity'),
    podAffinity: of('PodAffinity'),
    podAntiAffinity: of('PodAffinity'),
  },
  NodeAffinity: {
    requiredDuringSchedulingIgnoredDuringExecution: of('NodeSelector'),
    preferredDuringSchedulingIgnoredDuringExecution: atomic,
  },
  NodeSelector: { nodeSelectorTerms: atomic },
  PodAffinity: {
    requiredDuringSchedulingIgnoredDuringExecution: atomic,
    preferredDuringSchedulingIgnoredDuringExecution: atomic,
  },
  Volume: {
    projected: of('ProjectedVolumeSource'),
    configMap: of('KeyToPaths'),
    secret: of('KeyToPaths'),
    downwardAPI: { type: 'DownwardAPIVolumeSource' },
  },
  ProjectedVolumeSource: { sources: atomic },
  KeyToPaths: { items: atomic },
  DownwardAPIVolumeSource: { items: atomic },
  Container: {
    command: atomic,
    args: atomic,
    ports: byKey('containerPort', undefined, { mapKeys: ['containerPort', 'protocol'] }),
    envFrom: atomic,
    env: byKey('name'),
    volumeMounts: byKey('mountPath'),
    volumeDevices: byKey('devicePath'),
    resizePolicy: atomic,
    resources: of('ResourceRequirements'),
    securityContext: of('SecurityContext'),
    lifecycle: of('Lifecycle'),
    livenessProbe: of('Probe'),
    readinessProbe: of('Probe'),
    startupProbe: of('Probe'),
  },
  ResourceRequirements: { claims: { meta: { listType: 'map', mapKeys: ['name'] } } },
  SecurityContext: { capabilities: of('Capabilities') },
  Capabilities: { add: atomic, drop: atomic },
  Lifecycle: { postStart: of('Probe'), preStop: of('Probe') },
  Probe: { exec: of('ExecAction'), httpGet: of('HTTPGetAction') },
  ExecAction: { command: atomic },
  HTTPGetAction: { httpHeaders: atomic },
  PodStatus: {
    conditions,
    podIPs: byKey('ip'),
    hostIPs: { meta: { strategy: 'merge', mergeKey: 'ip', listType: 'atomic' } },
    initContainerStatuses: atomic,
    containerStatuses: atomic,
    ephemeralContainerStatuses: atomic,
    resourceClaimStatuses: byKey('name', undefined, { strategy: 'merge,retainKeys' }),
  },
  ServiceSpec: {
    ports: byKey('port', undefined, { mapKeys: ['port', 'protocol'] }),
    clusterIPs: atomic,
    externalIPs: atomic,
    loadBalancerSourceRanges: atomic,
    ipFamilies: atomic,
  },
  ServiceStatus: { conditions, loadBalancer: of('LoadBalancerStatus') },
  LoadBalancerStatus: { ingress: of('LoadBalancerIngress', { listType: 'atomic' }) },
  LoadBalancerIngress: { ports: atomic },
  EndpointSubset: { addresses: atomic, notReadyAddresses: atomic, ports: atomic },
  NodeSpec: {
    podCIDRs: { meta: { strategy: 'merge', listType: 'set' } },
    taints: atomic,
  },
  NodeStatus: {
    conditions,
    addresses: byKey('type'),
    images: atomic,
    volumesInUse: atomic,
    volumesAttached: atomic,
  },
  NamespaceSpec: { finalizers: atomic },
  NamespaceStatus: { conditions },
  DeploymentSpec: {
    selector: of('LabelSelector'),
    template: of('PodTemplateSpec'),
    strategy: { meta: { strategy: 'retainKeys' } },
  },
  WorkloadSpec: { selector: of('LabelSelector'), template: of('PodTemplateSpec') },
  StatefulSetSpec: {
    selector: of('LabelSelector'),
    template: of('PodTemplateSpec'),
    volumeClaimTemplates: atomic,
  },
  JobSpec: {
    selector: of('LabelSelector'),
    template: of('PodTemplateSpec'),
    podFailurePolicy: of('PodFailurePolicy'),
  },
  PodFailurePolicy: { rules: atomic },
  WorkloadStatus: { conditions },
  JobStatus: { conditions: { meta: { strategy: 'merge', mergeKey: 'type', listType: 'atomic' } } },
  CronJobSpec: { jobTemplate: of('JobTemplateSpec') },
  JobTemplateSpec: { metadata: of('ObjectMeta'), spec: of('JobSpec') },
  CronJobStatus: { active: atomic },
  IngressSpec: { rules: atomic, tls: atomic },
  IngressStatus: { loadBalancer: of('IngressLoadBalancerStatus') },
  IngressLoadBalancerStatus: { ingress: atomic },
};

function root(fields: Struct): Struct {
  return { metadata: of('ObjectMeta'), ...fields };
}

/** Root struct per `apiVersion/kind`. */
const ROOTS: Record<string, Struct> = {
  'v1/Namespace': root({ spec: of('NamespaceSpec'), status: of('NamespaceStatus') }),
  'v1/Pod': root({ spec: of('PodSpec'), status: of('PodStatus') }),
  'v1/Service': root({ spec: of('ServiceSpec'), status: of('ServiceStatus') }),
  'v1/Endpoints': root({ subsets: of('EndpointSubset', { listType: 'atomic' }) }),
  'v1/Node': root({ spec: of('NodeSpec'), status: of('NodeStatus') }),
  'v1/ConfigMap': root({}),
  'v1/Secret': root({}),
  'v1/ServiceAccount': root({ secrets: byKey('name'), imagePullSecrets: atomic }),
  'v1/Event': root({}),
  'apps/v1/Deployment': root({ spec: of('DeploymentSpec'), status: of('WorkloadStatus') }),
  'apps/v1/ReplicaSet': root({ spec: of('WorkloadSpec'), status: of('WorkloadStatus') }),
  'apps/v1/DaemonSet': root({ spec: of('WorkloadSpec'), status: of('WorkloadStatus') }),
  'apps/v1/StatefulSet': root({ spec: of('StatefulSetSpec'), status: of('WorkloadStatus') }),
  'batch/v1/Job': root({ spec: of('JobSpec'), status: of('JobStatus') }),
  'batch/v1/CronJob': root({ spec: of('CronJobSpec'), status: of('CronJobStatus') }),
  'networking.k8s.io/v1/Ingress': root({ spec: of('IngressSpec'), status: of('IngressStatus') }),
  'networking.k8s.io/v1/IngressClass': root({}),
  'discovery.k8s.io/v1/EndpointSlice': root({ endpoints: atomic, ports: atomic }),
  'coordination.k8s.io/v1/Lease': root({}),
  'certificates.k8s.io/v1/CertificateSigningRequest': root({}),
  // data is a RawExtension: replaced whole.
  'apps/v1/ControllerRevision': root({ data: atomic }),
};

// Lookups hand out these objects directly; freeze them so no caller can change the schema.
for (const struct of [...Object.values(STRUCTS), ...Object.values(ROOTS)]) {
  for (const f of Object.values(struct)) {
    if (f.meta) {
      if (f.meta.mapKeys) Object.freeze(f.meta.mapKeys);
      Object.freeze(f.meta);
    }
  }
}

/** Whether patch metadata is known for the kind (a built-in); unknown kinds get JSON-merge semantics. */
export function hasSchema(apiVersion: string, kind: string): boolean {
  return ROOTS[`${apiVersion}/${kind}`] !== undefined;
}

/**
 * Patch/list metadata of the field at `path` (property names only, no indexes) in the object of
 * kind `apiVersion`/`kind`. undefined: atomic list / plain field.
 */
export function fieldMeta(apiVersion: string, kind: string, path: readonly string[]): ListMeta | undefined {
  let struct: Struct | undefined = ROOTS[`${apiVersion}/${kind}`];
  let field: FieldDef | undefined;
  for (const name of path) {
    if (struct === undefined) return undefined;
    field = Object.hasOwn(struct, name) ? struct[name] : undefined;
    if (field === undefined) return undefined;
    struct = field.type === undefined ? undefined : STRUCTS[field.type];
  }
  return field?.meta;
}
