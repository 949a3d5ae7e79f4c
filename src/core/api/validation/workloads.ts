/**
 * Validation of the workload kinds: Deployment, ReplicaSet, DaemonSet, StatefulSet (apps/v1) and Job
 * (CronJob, which embeds a JobSpec, is in cronjob.ts).
 */
import type { DaemonSet, Deployment, ReplicaSet, StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { Job } from 'kubernetes-types/batch/v1.js';
import type { PodTemplateSpec } from 'kubernetes-types/core/v1.js';
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import {
  type FieldError,
  forbidden,
  GoValue,
  goIntOrString,
  goLabelSelector,
  goStringMap,
  invalid,
  notSupported,
  required,
} from '../field-error.js';
import {
  intOrPercentValue,
  jsonEqual,
  selectorIsEmpty,
  validateImmutable,
  validateLabelSelector,
  validateNonNegative,
  validateNotMoreThan100Percent,
  validatePositiveIntOrPercent,
  validateSelectorMatchesTemplate,
} from './common.js';
import { isDNS1123Subdomain } from './names.js';
import { validatePodTemplateSpec } from './pod.js';

/** Selector present, well-formed and not empty (`empty selector is invalid for <what>`). */
function validateWorkloadSelector(sel: LabelSelector | undefined, what: string): FieldError[] {
  if (sel === undefined || sel === null) return [required('spec.selector', '')];
  const errs = validateLabelSelector(sel, 'spec.selector');
  if (selectorIsEmpty(sel))
    errs.push(invalid('spec.selector', goLabelSelector(sel), `empty selector is invalid for ${what}`));
  return errs;
}

/** A template run by a replica controller: labels selected, restartPolicy Always, no deadline. */
function validateReplicatedTemplate(
  t: PodTemplateSpec | undefined,
  sel: LabelSelector | undefined,
  kindForMsg: string,
): FieldError[] {
  if (t === undefined || t === null) return [required('spec.template', '')];
  const errs = validateSelectorMatchesTemplate(sel, t.metadata?.labels, 'spec.template.metadata.labels');
  errs.push(...validatePodTemplateSpec(t, 'spec.template'));
  const rp = t.spec?.restartPolicy;
  if (rp !== undefined && rp !== 'Always')
    errs.push(notSupported('spec.template.spec.restartPolicy', rp, ['Always']));
  if (t.spec?.activeDeadlineSeconds !== undefined) {
    errs.push(
      invalid(
        'spec.template.spec.activeDeadlineSeconds',
        t.spec.activeDeadlineSeconds,
        `activeDeadlineSeconds in ${kindForMsg} is not Supported`,
      ),
    );
  }
  return errs;
}

/** A Deployment's spec. */
export function validateDeployment(d: Deployment): FieldError[] {
  const spec = d.spec;
  if (spec === undefined) return [required('spec', '')];
  const errs = validateNonNegative(spec.replicas, 'spec.replicas');
  errs.push(...validateWorkloadSelector(spec.selector, 'deployment'));
  errs.push(...validateReplicatedTemplate(spec.template, spec.selector, 'ReplicaSet'));
  const st = spec.strategy;
  const type = st?.type;
  if (type === 'Recreate') {
    if (st?.rollingUpdate != null) {
      errs.push(
        forbidden('spec.strategy.rollingUpdate', "may not be specified when strategy `type` is 'Recreate'"),
      );
    }
  } else if (type === 'RollingUpdate') {
    const ru = st?.rollingUpdate;
    if (ru == null)
      errs.push(required('spec.strategy.rollingUpdate', 'this should be defaulted and never be nil'));
    else {
      const p = 'spec.strategy.rollingUpdate';
      errs.push(
        ...validatePositiveIntOrPercent(
          ru.maxUnavailable,
          `${p}.maxUnavailable`,
          goIntOrString(ru.maxUnavailable),
        ),
      );
      errs.push(...validatePositiveIntOrPercent(ru.maxSurge, `${p}.maxSurge`, goIntOrString(ru.maxSurge)));
      if (intOrPercentValue(ru.maxUnavailable) === 0 && intOrPercentValue(ru.maxSurge) === 0) {
        errs.push(
          invalid(
            `${p}.maxUnavailable`,
            goIntOrString(ru.maxUnavailable),
            'may not be 0 when `maxSurge` is 0',
          ),
        );
      }
      errs.push(
        ...validateNotMoreThan100Percent(
          ru.maxUnavailable,
          `${p}.maxUnavailable`,
          goIntOrString(ru.maxUnavailable),
        ),
      );
    }
  } else {
    errs.push(notSupported('spec.strategy.type', type ?? '', ['Recreate', 'RollingUpdate']));
  }
  errs.push(...validateNonNegative(spec.minReadySeconds, 'spec.minReadySeconds'));
  errs.push(...validateNonNegative(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit'));
  if (spec.progressDeadlineSeconds !== undefined) {
    errs.push(...validateNonNegative(spec.progressDeadlineSeconds, 'spec.progressDeadlineSeconds'));
    if (spec.progressDeadlineSeconds <= (spec.minReadySeconds ?? 0)) {
      errs.push(
        invalid(
          'spec.progressDeadlineSeconds',
          spec.progressDeadlineSeconds,
          'must be greater than minReadySeconds',
        ),
      );
    }
  }
  return errs;
}

function validateSelectorImmutable(
  sel: LabelSelector | undefined,
  old: LabelSelector | undefined,
): FieldError[] {
  return jsonEqual(sel, old) ? [] : [invalid('spec.selector', goLabelSelector(sel), 'field is immutable')];
}

/** A Deployment update: apps/v1 makes the selector immutable. */
export function validateDeploymentUpdate(d: Deployment, old: Deployment): FieldError[] {
  return [...validateDeployment(d), ...validateSelectorImmutable(d.spec?.selector, old.spec?.selector)];
}

/** A ReplicaSet's spec. */
export function validateReplicaSet(rs: ReplicaSet): FieldError[] {
  const spec = rs.spec;
  if (spec === undefined) return [required('spec', '')];
  const errs = validateNonNegative(spec.replicas, 'spec.replicas');
  errs.push(...validateNonNegative(spec.minReadySeconds, 'spec.minReadySeconds'));
  errs.push(...validateWorkloadSelector(spec.selector, 'deployment'));
  errs.push(...validateReplicatedTemplate(spec.template, spec.selector, 'ReplicaSet'));
  return errs;
}

/** A ReplicaSet update: the selector is immutable. */
export function validateReplicaSetUpdate(rs: ReplicaSet, old: ReplicaSet): FieldError[] {
  return [...validateReplicaSet(rs), ...validateSelectorImmutable(rs.spec?.selector, old.spec?.selector)];
}

/** A DaemonSet's spec. */
export function validateDaemonSet(ds: DaemonSet): FieldError[] {
  const spec = ds.spec;
  if (spec === undefined) return [required('spec', '')];
  const errs = validateWorkloadSelector(spec.selector, 'daemonset');
  errs.push(...validateReplicatedTemplate(spec.template, spec.selector, 'DaemonSet'));
  errs.push(...validateNonNegative(spec.minReadySeconds, 'spec.minReadySeconds'));
  errs.push(...validateNonNegative(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit'));
  const us = spec.updateStrategy;
  const p = 'spec.updateStrategy';
  if (us?.type === 'RollingUpdate') {
    const ru = us.rollingUpdate;
    if (ru == null) errs.push(required(`${p}.rollingUpdate`, ''));
    else {
      errs.push(
        ...validatePositiveIntOrPercent(
          ru.maxUnavailable,
          `${p}.rollingUpdate.maxUnavailable`,
          goIntOrString(ru.maxUnavailable),
        ),
      );
      errs.push(
        ...validatePositiveIntOrPercent(
          ru.maxSurge,
          `${p}.rollingUpdate.maxSurge`,
          goIntOrString(ru.maxSurge),
        ),
      );
      errs.push(
        ...validateNotMoreThan100Percent(
          ru.maxUnavailable,
          `${p}.rollingUpdate.maxUnavailable`,
          goIntOrString(ru.maxUnavailable),
        ),
      );
      errs.push(
        ...validateNotMoreThan100Percent(
          ru.maxSurge,
          `${p}.rollingUpdate.maxSurge`,
          goIntOrString(ru.maxSurge),
        ),
      );
      const hasUnavailable = intOrPercentValue(ru.maxUnavailable) !== 0;
      const hasSurge = intOrPercentValue(ru.maxSurge) !== 0;
      if (hasUnavailable && hasSurge) {
        errs.push(
          invalid(
            `${p}.rollingUpdate.maxSurge`,
            goIntOrString(ru.maxSurge),
            'may not be set when maxUnavailable is non-zero',
          ),
        );
      } else if (!hasUnavailable && !hasSurge) {
        errs.push(required(`${p}.rollingUpdate.maxUnavailable`, 'cannot be 0 when maxSurge is 0'));
      }
    }
  } else if (us?.type === 'OnDelete') {
    if (us.rollingUpdate != null) {
      errs.push(forbidden(`${p}.rollingUpdate`, "may not be specified when strategy `type` is 'OnDelete'"));
    }
  } else {
    errs.push(notSupported(`${p}.type`, us?.type ?? '', ['OnDelete', 'RollingUpdate']));
  }
  return errs;
}

/** A DaemonSet update: the selector is immutable. */
export function validateDaemonSetUpdate(ds: DaemonSet, old: DaemonSet): FieldError[] {
  return [...validateDaemonSet(ds), ...validateSelectorImmutable(ds.spec?.selector, old.spec?.selector)];
}

/** A StatefulSet's spec. */
export function validateStatefulSet(ss: StatefulSet): FieldError[] {
  const spec = ss.spec;
  if (spec === undefined) return [required('spec', '')];
  const errs: FieldError[] = [];
  const pmp = spec.podManagementPolicy;
  if (!pmp) errs.push(required('spec.podManagementPolicy', ''));
  else if (pmp !== 'OrderedReady' && pmp !== 'Parallel') {
    errs.push(invalid('spec.podManagementPolicy', pmp, "must be 'OrderedReady' or 'Parallel'"));
  }
  const us = spec.updateStrategy;
  if (!us?.type) errs.push(required('spec.updateStrategy', ''));
  else if (us.type === 'OnDelete') {
    if (us.rollingUpdate != null) {
      errs.push(
        invalid(
          'spec.updateStrategy.rollingUpdate',
          new GoValue('apps.RollingUpdateStatefulSetStrategy{...}'),
          "only allowed for updateStrategy 'RollingUpdate'",
        ),
      );
    }
  } else if (us.type === 'RollingUpdate') {
    errs.push(
      ...validateNonNegative(us.rollingUpdate?.partition, 'spec.updateStrategy.rollingUpdate.partition'),
    );
    const mu = us.rollingUpdate?.maxUnavailable;
    if (mu !== undefined) {
      errs.push(
        ...validatePositiveIntOrPercent(
          mu,
          'spec.updateStrategy.rollingUpdate.maxUnavailable',
          goIntOrString(mu),
        ),
      );
      if (intOrPercentValue(mu) === 0) {
        errs.push(
          invalid(
            'spec.updateStrategy.rollingUpdate.maxUnavailable',
            goIntOrString(mu),
            'must be greater than 0',
          ),
        );
      }
    }
  } else {
    errs.push(invalid('spec.updateStrategy', us.type, "must be 'RollingUpdate' or 'OnDelete'"));
  }
  const pvc = spec.persistentVolumeClaimRetentionPolicy;
  for (const k of ['whenDeleted', 'whenScaled'] as const) {
    const v = pvc?.[k];
    if (v !== undefined && v !== 'Retain' && v !== 'Delete') {
      errs.push(notSupported(`spec.persistentVolumeClaimRetentionPolicy.${k}`, v, ['Retain', 'Delete']));
    }
  }
  errs.push(...validateNonNegative(spec.replicas, 'spec.replicas'));
  errs.push(...validateNonNegative(spec.minReadySeconds, 'spec.minReadySeconds'));
  errs.push(...validateNonNegative(spec.ordinals?.start, 'spec.ordinals.start'));
  errs.push(...validateNonNegative(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit'));
  if (spec.serviceName) {
    for (const m of isDNS1123Subdomain(spec.serviceName))
      errs.push(invalid('spec.serviceName', spec.serviceName, m));
  }
  errs.push(...validateWorkloadSelector(spec.selector, 'statefulset'));
  errs.push(...validateReplicatedTemplate(spec.template, spec.selector, 'StatefulSet'));
  (spec.volumeClaimTemplates ?? []).forEach((c, i) => {
    if (!c.metadata?.name) errs.push(required(`spec.volumeClaimTemplates[${i}].metadata.name`, ''));
  });
  return errs;
}

const STS_UPDATE_MSG =
  "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden";

/** A StatefulSet update: only replicas, ordinals, template, updateStrategy and a few more may change. */
export function validateStatefulSetUpdate(ss: StatefulSet, old: StatefulSet): FieldError[] {
  const errs = validateStatefulSet(ss);
  const strip = (s: StatefulSet['spec']) => {
    const c: Record<string, unknown> = { ...(s ?? {}) };
    for (const k of [
      'replicas',
      'ordinals',
      'template',
      'updateStrategy',
      'revisionHistoryLimit',
      'persistentVolumeClaimRetentionPolicy',
      'minReadySeconds',
    ]) {
      delete c[k];
    }
    return c;
  };
  if (!jsonEqual(strip(ss.spec), strip(old.spec))) errs.push(forbidden('spec', STS_UPDATE_MSG));
  return errs;
}

const CONTROLLER_UID_LABEL = 'batch.kubernetes.io/controller-uid';

/**
 * The parts of a JobSpec checked wherever one appears (a Job, a CronJob's jobTemplate), selector
 * aside; `p` is the spec's path (`spec`, `spec.jobTemplate.spec`).
 */
export function validateJobSpec(spec: NonNullable<Job['spec']>, p: string): FieldError[] {
  const errs: FieldError[] = [];
  errs.push(...validateNonNegative(spec.parallelism, `${p}.parallelism`));
  errs.push(...validateNonNegative(spec.completions, `${p}.completions`));
  errs.push(...validateNonNegative(spec.activeDeadlineSeconds, `${p}.activeDeadlineSeconds`));
  errs.push(...validateNonNegative(spec.backoffLimit, `${p}.backoffLimit`));
  errs.push(...validateNonNegative(spec.ttlSecondsAfterFinished, `${p}.ttlSecondsAfterFinished`));
  const mode = spec.completionMode;
  if (mode !== undefined && mode !== 'NonIndexed' && mode !== 'Indexed') {
    errs.push(notSupported(`${p}.completionMode`, mode, ['Indexed', 'NonIndexed']));
  }
  if (mode === 'Indexed' && spec.completions === undefined) {
    errs.push(required(`${p}.completions`, 'when completion mode is Indexed'));
  }
  const t = spec.template;
  if (t === undefined) return [...errs, required(`${p}.template`, '')];
  errs.push(...validatePodTemplateSpec(t, `${p}.template`));
  const rp = t.spec?.restartPolicy;
  if (rp !== 'OnFailure' && rp !== 'Never') {
    errs.push(notSupported(`${p}.template.spec.restartPolicy`, rp ?? '', ['OnFailure', 'Never']));
  }
  return errs;
}

/** A Job's spec. */
export function validateJob(job: Job): FieldError[] {
  const spec = job.spec;
  if (spec === undefined) return [required('spec', '')];
  const errs = validateJobSpec(spec, 'spec');
  if (spec.selector === undefined) errs.push(required('spec.selector', ''));
  else errs.push(...validateLabelSelector(spec.selector, 'spec.selector'));
  const t = spec.template;
  if (t === undefined) return errs;
  errs.push(
    ...validateSelectorMatchesTemplate(spec.selector, t.metadata?.labels, 'spec.template.metadata.labels'),
  );
  // A generated selector must be exactly the controller-uid one, on template and selector alike.
  const uid = job.metadata?.uid;
  if (spec.manualSelector !== true && uid !== undefined && spec.selector !== undefined) {
    if (t.metadata?.labels?.[CONTROLLER_UID_LABEL] !== uid) {
      errs.push(
        invalid(
          'spec.template.metadata.labels',
          goStringMap(t.metadata?.labels),
          '`selector` not auto-generated',
        ),
      );
    }
    const sel = spec.selector;
    const want = { matchLabels: { [CONTROLLER_UID_LABEL]: uid } };
    if (!jsonEqual({ matchLabels: sel.matchLabels, matchExpressions: sel.matchExpressions }, want)) {
      errs.push(invalid('spec.selector', goLabelSelector(sel), '`selector` not auto-generated'));
    }
  }
  return errs;
}

/** A Job update: selector, template (outside suspension edits), completions and mode are immutable. */
export function validateJobUpdate(job: Job, old: Job): FieldError[] {
  const errs = validateJob(job);
  const ns: NonNullable<Job['spec']> = job.spec ?? { template: {} };
  const os: NonNullable<Job['spec']> = old.spec ?? { template: {} };
  errs.push(...validateImmutable(ns.selector, os.selector, 'spec.selector', goLabelSelector(ns.selector)));
  if (!jsonEqual(ns.template, os.template)) {
    // Upstream lets a suspended job that never started edit scheduling directives; k8ts keeps the
    // template fully immutable except while suspended.
    const suspendedNeverStarted = os.suspend === true && old.status?.startTime === undefined;
    if (!suspendedNeverStarted) {
      errs.push(invalid('spec.template', new GoValue('core.PodTemplateSpec{...}'), 'field is immutable'));
    }
  }
  errs.push(...validateImmutable(ns.completions, os.completions, 'spec.completions'));
  errs.push(...validateImmutable(ns.completionMode, os.completionMode, 'spec.completionMode'));
  errs.push(
    ...validateImmutable(
      ns.podFailurePolicy,
      os.podFailurePolicy,
      'spec.podFailurePolicy',
      new GoValue('batch.PodFailurePolicy{...}'),
    ),
  );
  return errs;
}

/** Status of a replica-managing workload: counters are non-negative. */
export function validateWorkloadStatus(obj: { status?: object }): FieldError[] {
  const errs: FieldError[] = [];
  const st = (obj.status ?? {}) as Record<string, unknown>;
  for (const [k, v] of Object.entries(st)) {
    if (typeof v === 'number') errs.push(...validateNonNegative(v, `status.${k}`));
  }
  return errs;
}
