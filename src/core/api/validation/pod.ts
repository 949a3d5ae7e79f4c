/**
 * Validation of Pods, pod specs and pod templates (upstream `core/validation` ValidatePodSpec and
 * friends), limited to the fields users hit most.
 */
import type {
  Container,
  EnvVar,
  Pod,
  PodSpec,
  PodTemplateSpec,
  Probe,
  ResourceRequirements,
  Toleration,
  Volume,
} from 'kubernetes-types/core/v1.js';
import {
  duplicate,
  type FieldError,
  forbidden,
  invalid,
  notFound,
  notSupported,
  required,
} from '../field-error.js';
import { cloneJson } from '../json-clone.js';
import {
  jsonEqual,
  validateAnnotations,
  validateEnum,
  validateLabels,
  validateNonNegative,
  validatePortNumOrName,
  validateProtocol,
} from './common.js';
import {
  inclusiveRangeError,
  isConfigMapKey,
  isDNS1123Label,
  isDNS1123Subdomain,
  isEnvVarName,
  isQualifiedName,
  isValidIP,
  isValidLabelValue,
  isValidPortName,
  isValidPortNum,
} from './names.js';
import { parseQuantity, QUANTITY_FORMAT_MSG } from './quantity.js';

/** The volume source fields of a Volume (exactly one may be set). */
export const VOLUME_SOURCES = [
  'hostPath',
  'emptyDir',
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'gitRepo',
  'secret',
  'nfs',
  'iscsi',
  'glusterfs',
  'persistentVolumeClaim',
  'rbd',
  'flexVolume',
  'cinder',
  'cephfs',
  'flocker',
  'downwardAPI',
  'fc',
  'azureFile',
  'configMap',
  'vsphereVolume',
  'quobyte',
  'azureDisk',
  'photonPersistentDisk',
  'projected',
  'portworxVolume',
  'scaleIO',
  'storageos',
  'csi',
  'ephemeral',
  'image',
];

const MAX_INT32 = 2147483647;

export interface PodSpecOptions {
  /** A real Pod rather than a template: images are required. */
  isPod: boolean;
}

function validateVolumes(
  volumes: Volume[] | undefined,
  p: string,
): { errs: FieldError[]; names: Set<string> } {
  const errs: FieldError[] = [];
  const names = new Set<string>();
  (volumes ?? []).forEach((v, i) => {
    const vp = `${p}[${i}]`;
    if (!v.name) errs.push(required(`${vp}.name`, ''));
    else {
      for (const m of isDNS1123Label(v.name)) errs.push(invalid(`${vp}.name`, v.name, m));
      if (names.has(v.name)) errs.push(duplicate(`${vp}.name`, v.name));
      names.add(v.name);
    }
    const sources = VOLUME_SOURCES.filter((k) => (v as unknown as Record<string, unknown>)[k] != null);
    if (sources.length === 0) errs.push(required(vp, 'must specify a volume type'));
    else if (sources.length > 1)
      errs.push(forbidden(`${vp}.${sources[1]}`, 'may not specify more than 1 volume type'));
    const src = v.configMap ?? v.secret;
    for (const [j, item] of (src?.items ?? []).entries()) {
      const ip = `${vp}.${v.configMap ? 'configMap' : 'secret'}.items[${j}]`;
      if (!item.key) errs.push(required(`${ip}.key`, ''));
      if (!item.path) errs.push(required(`${ip}.path`, ''));
      else if (item.path.startsWith('/'))
        errs.push(invalid(`${ip}.path`, item.path, 'must be a relative path'));
      else if (item.path.split('/').includes('..'))
        errs.push(invalid(`${ip}.path`, item.path, "must not contain '..'"));
    }
    if (v.persistentVolumeClaim && !v.persistentVolumeClaim.claimName) {
      errs.push(required(`${vp}.persistentVolumeClaim.claimName`, ''));
    }
    if (v.hostPath && !v.hostPath.path) errs.push(required(`${vp}.hostPath.path`, ''));
  });
  return { errs, names };
}

function validateEnv(env: EnvVar[] | undefined, p: string): FieldError[] {
  const errs: FieldError[] = [];
  (env ?? []).forEach((e, i) => {
    const ep = `${p}[${i}]`;
    if (!e.name) errs.push(required(`${ep}.name`, ''));
    else for (const m of isEnvVarName(e.name)) errs.push(invalid(`${ep}.name`, e.name, m));
    const vf = e.valueFrom;
    if (vf === undefined) return;
    const set = ['fieldRef', 'resourceFieldRef', 'configMapKeyRef', 'secretKeyRef', 'fileKeyRef'].filter(
      (k) => (vf as Record<string, unknown>)[k] != null,
    );
    if (set.length === 0) {
      errs.push(
        invalid(
          `${ep}.valueFrom`,
          '',
          'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`',
        ),
      );
    } else if (set.length > 1) {
      errs.push(invalid(`${ep}.valueFrom`, '', 'may not have more than one field specified at a time'));
    }
    if (e.value) errs.push(invalid(`${ep}.valueFrom`, '', 'may not be specified when `value` is not empty'));
    for (const [k, ref] of [
      ['configMapKeyRef', vf.configMapKeyRef],
      ['secretKeyRef', vf.secretKeyRef],
    ] as const) {
      if (ref === undefined) continue;
      if (!ref.key) errs.push(required(`${ep}.valueFrom.${k}.key`, ''));
      else
        for (const m of isConfigMapKey(ref.key)) errs.push(invalid(`${ep}.valueFrom.${k}.key`, ref.key, m));
      if (!ref.name) errs.push(required(`${ep}.valueFrom.${k}.name`, ''));
    }
    if (vf.fieldRef && !vf.fieldRef.fieldPath) errs.push(required(`${ep}.valueFrom.fieldRef.fieldPath`, ''));
    if (vf.resourceFieldRef && !vf.resourceFieldRef.resource) {
      errs.push(required(`${ep}.valueFrom.resourceFieldRef.resource`, ''));
    }
  });
  return errs;
}

function validateProbe(
  probe: Probe | undefined,
  p: string,
  opts: { mustSucceedOnce: boolean },
): FieldError[] {
  if (probe === undefined || probe === null) return [];
  const errs: FieldError[] = [];
  const handlers = (['exec', 'httpGet', 'tcpSocket', 'grpc'] as const).filter((k) => probe[k] != null);
  if (handlers.length === 0) errs.push(required(p, 'must specify a handler type'));
  else if (handlers.length > 1)
    errs.push(forbidden(`${p}.${handlers[1]}`, 'may not specify more than 1 handler type'));
  if (probe.exec && (probe.exec.command ?? []).length === 0) errs.push(required(`${p}.exec.command`, ''));
  if (probe.httpGet) {
    errs.push(...validatePortNumOrName(probe.httpGet.port, `${p}.httpGet.port`));
    if (
      probe.httpGet.scheme !== undefined &&
      probe.httpGet.scheme !== 'HTTP' &&
      probe.httpGet.scheme !== 'HTTPS'
    ) {
      errs.push(notSupported(`${p}.httpGet.scheme`, probe.httpGet.scheme, ['HTTP', 'HTTPS']));
    }
    (probe.httpGet.httpHeaders ?? []).forEach((h, i) => {
      if (!/^[-A-Za-z0-9!#$%&'*+.^_`|~]+$/.test(h.name ?? '')) {
        errs.push(
          invalid(
            `${p}.httpGet.httpHeaders[${i}].name`,
            h.name ?? '',
            "a valid HTTP header must consist of alphanumeric characters or '-'",
          ),
        );
      }
    });
  }
  if (probe.tcpSocket) errs.push(...validatePortNumOrName(probe.tcpSocket.port, `${p}.tcpSocket.port`));
  if (probe.grpc) {
    for (const m of isValidPortNum(probe.grpc.port)) errs.push(invalid(`${p}.grpc.port`, probe.grpc.port, m));
  }
  for (const k of [
    'initialDelaySeconds',
    'timeoutSeconds',
    'periodSeconds',
    'successThreshold',
    'failureThreshold',
  ] as const) {
    errs.push(...validateNonNegative(probe[k], `${p}.${k}`));
  }
  if (probe.terminationGracePeriodSeconds !== undefined && probe.terminationGracePeriodSeconds <= 0) {
    errs.push(
      invalid(
        `${p}.terminationGracePeriodSeconds`,
        probe.terminationGracePeriodSeconds,
        'must be greater than 0',
      ),
    );
  }
  if (opts.mustSucceedOnce && probe.successThreshold !== undefined && probe.successThreshold !== 1) {
    errs.push(invalid(`${p}.successThreshold`, probe.successThreshold, 'must be 1'));
  }
  return errs;
}

/** Requests and limits: quantity format, non-negative, requests <= limits. */
export function validateResources(r: ResourceRequirements | undefined, p: string): FieldError[] {
  if (r === undefined || r === null) return [];
  const errs: FieldError[] = [];
  const parsed: Record<'limits' | 'requests', Map<string, number>> = {
    limits: new Map(),
    requests: new Map(),
  };
  for (const kind of ['limits', 'requests'] as const) {
    for (const [name, q] of Object.entries(r[kind] ?? {})) {
      const fp = `${p}.${kind}[${name}]`;
      for (const m of isQualifiedName(name)) errs.push(invalid(fp, name, m));
      const v = parseQuantity(q);
      if (v === undefined) errs.push(invalid(fp, q, QUANTITY_FORMAT_MSG));
      else if (v < 0) errs.push(invalid(fp, q, 'must be greater than or equal to 0'));
      else parsed[kind].set(name, v);
    }
  }
  for (const [name, req] of parsed.requests) {
    const lim = parsed.limits.get(name);
    if (lim !== undefined && req > lim) {
      errs.push(
        invalid(
          `${p}.requests[${name}]`,
          String(r.requests?.[name]),
          `must be less than or equal to ${name} limit of ${String(r.limits?.[name])}`,
        ),
      );
    }
  }
  return errs;
}

interface ContainerOptions {
  isPod: boolean;
  init: boolean;
  volumes: Set<string>;
  names: Set<string>;
}

function validateContainer(c: Container, p: string, opts: ContainerOptions): FieldError[] {
  const errs: FieldError[] = [];
  if (!c.name) errs.push(required(`${p}.name`, ''));
  else {
    for (const m of isDNS1123Label(c.name)) errs.push(invalid(`${p}.name`, c.name, m));
    if (opts.names.has(c.name)) errs.push(duplicate(`${p}.name`, c.name));
    opts.names.add(c.name);
  }
  if (opts.isPod) {
    if (!c.image) errs.push(required(`${p}.image`, ''));
    else if (c.image !== c.image.trim()) {
      errs.push(invalid(`${p}.image`, c.image, 'must not have leading or trailing whitespace'));
    }
  }
  const portNames = new Set<string>();
  (c.ports ?? []).forEach((port, i) => {
    const pp = `${p}.ports[${i}]`;
    if (port.name) {
      const msgs = isValidPortName(port.name);
      for (const m of msgs) errs.push(invalid(`${pp}.name`, port.name, m));
      if (msgs.length === 0) {
        if (portNames.has(port.name)) errs.push(duplicate(`${pp}.name`, port.name));
        portNames.add(port.name);
      }
    }
    if (port.containerPort === undefined || port.containerPort === 0)
      errs.push(required(`${pp}.containerPort`, ''));
    else
      for (const m of isValidPortNum(port.containerPort))
        errs.push(invalid(`${pp}.containerPort`, port.containerPort, m));
    if (port.hostPort !== undefined && port.hostPort !== 0) {
      for (const m of isValidPortNum(port.hostPort)) errs.push(invalid(`${pp}.hostPort`, port.hostPort, m));
    }
    errs.push(...validateProtocol(port.protocol, `${pp}.protocol`));
    if (port.hostIP)
      for (const m of isValidIP(port.hostIP)) errs.push(invalid(`${pp}.hostIP`, port.hostIP, m));
  });
  errs.push(...validateEnv(c.env, `${p}.env`));
  (c.envFrom ?? []).forEach((e, i) => {
    const ep = `${p}.envFrom[${i}]`;
    if (e.prefix) for (const m of isEnvVarName(e.prefix)) errs.push(invalid(`${ep}.prefix`, e.prefix, m));
    const n = (e.configMapRef ? 1 : 0) + (e.secretRef ? 1 : 0);
    if (n === 0) errs.push(invalid(ep, '', 'must specify one of: `configMapRef` or `secretRef`'));
    if (n > 1) errs.push(invalid(ep, '', 'may not have more than one field specified at a time'));
  });
  const mountPaths = new Set<string>();
  (c.volumeMounts ?? []).forEach((vm, i) => {
    const mp = `${p}.volumeMounts[${i}]`;
    if (!vm.name) errs.push(required(`${mp}.name`, ''));
    else if (!opts.volumes.has(vm.name)) errs.push(notFound(`${mp}.name`, vm.name));
    if (!vm.mountPath) errs.push(required(`${mp}.mountPath`, ''));
    else {
      if (mountPaths.has(vm.mountPath)) errs.push(invalid(`${mp}.mountPath`, vm.mountPath, 'must be unique'));
      mountPaths.add(vm.mountPath);
    }
  });
  const sidecar = opts.init && c.restartPolicy === 'Always';
  if (c.restartPolicy !== undefined) {
    if (!opts.init) errs.push(forbidden(`${p}.restartPolicy`, 'may not be set for non-init containers'));
    else if (c.restartPolicy !== 'Always')
      errs.push(notSupported(`${p}.restartPolicy`, c.restartPolicy, ['Always']));
  }
  for (const k of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
    if (opts.init && !sidecar && c[k] != null) {
      errs.push(forbidden(`${p}.${k}`, 'may not be set for init containers without restartPolicy=Always'));
      continue;
    }
    errs.push(...validateProbe(c[k], `${p}.${k}`, { mustSucceedOnce: k !== 'readinessProbe' }));
  }
  errs.push(...validateResources(c.resources, `${p}.resources`));
  errs.push(...validateEnum(c.imagePullPolicy, ['Always', 'IfNotPresent', 'Never'], `${p}.imagePullPolicy`));
  errs.push(
    ...validateEnum(
      c.terminationMessagePolicy,
      ['File', 'FallbackToLogsOnError'],
      `${p}.terminationMessagePolicy`,
    ),
  );
  return errs;
}

function validateTolerations(tols: Toleration[] | undefined, p: string): FieldError[] {
  const errs: FieldError[] = [];
  (tols ?? []).forEach((t, i) => {
    const tp = `${p}[${i}]`;
    if (t.key) for (const m of isQualifiedName(t.key)) errs.push(invalid(`${tp}.key`, t.key, m));
    if (!t.key && t.operator !== 'Exists') {
      errs.push(
        invalid(
          `${tp}.operator`,
          t.operator ?? '',
          'operator must be Exists when `key` is empty, which means "match all values and all keys"',
        ),
      );
    }
    if (t.tolerationSeconds !== undefined && t.effect !== 'NoExecute') {
      errs.push(
        invalid(`${tp}.effect`, t.effect ?? '', "effect must be 'NoExecute' when `tolerationSeconds` is set"),
      );
    }
    if (t.operator === undefined || t.operator === '' || t.operator === 'Equal') {
      for (const m of isValidLabelValue(t.value ?? '')) errs.push(invalid(`${tp}.value`, t.value ?? '', m));
    } else if (t.operator === 'Exists') {
      if (t.value)
        errs.push(invalid(`${tp}.value`, t.value, "value must be empty when `operator` is 'Exists'"));
    } else {
      errs.push(notSupported(`${tp}.operator`, t.operator, ['Equal', 'Exists']));
    }
    if (t.effect) {
      const valid = ['NoExecute', 'NoSchedule', 'PreferNoSchedule'];
      if (!valid.includes(t.effect)) errs.push(notSupported(`${tp}.effect`, t.effect, valid));
    }
  });
  return errs;
}

/** A pod spec; `p` is its field path (`spec` or `spec.template.spec`). */
export function validatePodSpec(spec: PodSpec | undefined, p: string, opts: PodSpecOptions): FieldError[] {
  if (spec === undefined || spec === null) return [required(p, '')];
  const errs: FieldError[] = [];
  const vols = validateVolumes(spec.volumes, `${p}.volumes`);
  errs.push(...vols.errs);
  const names = new Set<string>();
  const copts = { isPod: opts.isPod, volumes: vols.names, names };
  if (!spec.containers || spec.containers.length === 0) errs.push(required(`${p}.containers`, ''));
  for (const [i, c] of (spec.containers ?? []).entries()) {
    errs.push(...validateContainer(c, `${p}.containers[${i}]`, { ...copts, init: false }));
  }
  for (const [i, c] of (spec.initContainers ?? []).entries()) {
    errs.push(...validateContainer(c, `${p}.initContainers[${i}]`, { ...copts, init: true }));
  }
  errs.push(...validateEnum(spec.restartPolicy, ['Always', 'OnFailure', 'Never'], `${p}.restartPolicy`));
  errs.push(
    ...validateEnum(
      spec.dnsPolicy,
      ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'],
      `${p}.dnsPolicy`,
    ),
  );
  if (spec.dnsPolicy === 'None' && spec.dnsConfig == null) {
    errs.push(required(`${p}.dnsConfig`, 'must provide `dnsConfig` when `dnsPolicy` is None'));
  }
  for (const [i, ns] of (spec.dnsConfig?.nameservers ?? []).entries()) {
    for (const m of isValidIP(ns)) errs.push(invalid(`${p}.dnsConfig.nameservers[${i}]`, ns, m));
  }
  errs.push(...validateLabels(spec.nodeSelector, `${p}.nodeSelector`));
  for (const k of ['serviceAccountName', 'nodeName', 'priorityClassName'] as const) {
    const v = spec[k];
    if (v) for (const m of isDNS1123Subdomain(v)) errs.push(invalid(`${p}.${k}`, v, m));
  }
  for (const k of ['hostname', 'subdomain'] as const) {
    const v = spec[k];
    if (v) for (const m of isDNS1123Label(v)) errs.push(invalid(`${p}.${k}`, v, m));
  }
  if (spec.activeDeadlineSeconds !== undefined) {
    const v = spec.activeDeadlineSeconds;
    if (!Number.isInteger(v) || v < 1 || v > MAX_INT32) {
      errs.push(invalid(`${p}.activeDeadlineSeconds`, v, inclusiveRangeError(1, MAX_INT32)));
    }
  }
  errs.push(...validateTolerations(spec.tolerations, `${p}.tolerations`));
  (spec.imagePullSecrets ?? []).forEach((s, i) => {
    if (!s.name) errs.push(required(`${p}.imagePullSecrets[${i}].name`, ''));
  });
  (spec.hostAliases ?? []).forEach((h, i) => {
    for (const m of isValidIP(h.ip ?? '')) errs.push(invalid(`${p}.hostAliases[${i}].ip`, h.ip ?? '', m));
  });
  (spec.topologySpreadConstraints ?? []).forEach((c, i) => {
    const cp = `${p}.topologySpreadConstraints[${i}]`;
    if (!(c.maxSkew > 0)) errs.push(invalid(`${cp}.maxSkew`, c.maxSkew, 'must be greater than zero'));
    if (!c.topologyKey) errs.push(required(`${cp}.topologyKey`, 'can not be empty'));
    errs.push(
      ...validateEnum(c.whenUnsatisfiable, ['DoNotSchedule', 'ScheduleAnyway'], `${cp}.whenUnsatisfiable`),
    );
  });
  return errs;
}

/** A pod template inside a workload: labels, annotations and spec. */
export function validatePodTemplateSpec(t: PodTemplateSpec | undefined, p: string): FieldError[] {
  if (t === undefined || t === null) return [required(p, '')];
  return [
    ...validateLabels(t.metadata?.labels, `${p}.metadata.labels`),
    ...validateAnnotations(t.metadata?.annotations, `${p}.metadata.annotations`),
    ...validatePodSpec(t.spec, `${p}.spec`, { isPod: false }),
  ];
}

/** The spec of a Pod being created. */
export function validatePod(pod: Pod): FieldError[] {
  return validatePodSpec(pod.spec, 'spec', { isPod: true });
}

const POD_UPDATE_MSG =
  'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

/** A Pod update: the spec is immutable except images, deadline, added tolerations and grace fix-up. */
export function validatePodUpdate(pod: Pod, old: Pod): FieldError[] {
  const errs = validatePod(pod);
  const ns = pod.spec;
  const os = old.spec;
  if (ns === undefined || os === undefined) return errs;
  const oldDeadline = os.activeDeadlineSeconds;
  if (oldDeadline !== undefined) {
    if (ns.activeDeadlineSeconds === undefined) {
      errs.push(
        invalid('spec.activeDeadlineSeconds', null, 'must not update from a positive integer to nil value'),
      );
    } else if (ns.activeDeadlineSeconds > oldDeadline) {
      errs.push(
        invalid(
          'spec.activeDeadlineSeconds',
          ns.activeDeadlineSeconds,
          'must be less than or equal to previous value',
        ),
      );
    }
  }
  // Existing tolerations stay; only their tolerationSeconds may change (NoExecute).
  (os.tolerations ?? []).forEach((ot, i) => {
    const same = (ns.tolerations ?? []).some((nt) =>
      jsonEqual({ ...nt, tolerationSeconds: undefined }, { ...ot, tolerationSeconds: undefined }),
    );
    if (!same)
      errs.push(
        forbidden(
          `spec.tolerations[${i}]`,
          'existing toleration can not be modified except its tolerationSeconds',
        ),
      );
  });
  const cmp: PodSpec = cloneJson(ns);
  const copyImages = (n: Container[] | undefined, o: Container[] | undefined) => {
    if (n === undefined || o === undefined) return;
    n.forEach((c, i) => {
      const oc = o[i];
      if (oc !== undefined && c.image) c.image = oc.image as string;
    });
  };
  copyImages(cmp.containers, os.containers);
  copyImages(cmp.initContainers, os.initContainers);
  if (os.activeDeadlineSeconds === undefined) delete cmp.activeDeadlineSeconds;
  else cmp.activeDeadlineSeconds = os.activeDeadlineSeconds;
  if (os.tolerations === undefined) delete cmp.tolerations;
  else cmp.tolerations = os.tolerations;
  const oldGrace = os.terminationGracePeriodSeconds;
  if (oldGrace !== undefined && oldGrace < 0 && cmp.terminationGracePeriodSeconds === 1) {
    cmp.terminationGracePeriodSeconds = oldGrace;
  }
  if (!jsonEqual(cmp, os)) errs.push(forbidden('spec', POD_UPDATE_MSG));
  return errs;
}

/** A Pod status write: IP fields must be IP addresses, podIPs unique and agreeing with podIP. */
export function validatePodStatus(pod: Pod): FieldError[] {
  const errs: FieldError[] = [];
  const st = pod.status;
  if (st === undefined) return errs;
  if (st.nominatedNodeName) {
    for (const m of isDNS1123Subdomain(st.nominatedNodeName))
      errs.push(invalid('status.nominatedNodeName', st.nominatedNodeName, m));
  }
  for (const k of ['podIP', 'hostIP'] as const) {
    const v = st[k];
    if (v) for (const m of isValidIP(v)) errs.push(invalid(`status.${k}`, v, m));
  }
  const seen = new Set<string>();
  (st.podIPs ?? []).forEach((entry, i) => {
    const ip = entry.ip ?? '';
    for (const m of isValidIP(ip)) errs.push(invalid(`status.podIPs[${i}].ip`, ip, m));
    if (seen.has(ip)) errs.push(duplicate(`status.podIPs[${i}].ip`, ip));
    seen.add(ip);
  });
  if (st.podIP && st.podIPs && st.podIPs.length > 0 && st.podIPs[0]?.ip !== st.podIP) {
    errs.push(invalid('status.podIPs[0].ip', st.podIPs[0]?.ip ?? '', 'must match `status.podIP`'));
  }
  (st.hostIPs ?? []).forEach((ip, i) => {
    for (const m of isValidIP(ip.ip ?? '')) errs.push(invalid(`status.hostIPs[${i}].ip`, ip.ip ?? '', m));
  });
  if (st.phase !== undefined) {
    const phases = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'];
    if (!phases.includes(st.phase)) errs.push(notSupported('status.phase', st.phase, phases));
  }
  return errs;
}
