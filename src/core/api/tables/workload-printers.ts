/**
 * Printers of the workload kinds: Deployment, ReplicaSet, DaemonSet, StatefulSet (apps/v1) and
 * Job (batch/v1, with the STATUS column of 1.30+) and CronJob.
 */
import type {
  ControllerRevision,
  DaemonSet,
  Deployment,
  ReplicaSet,
  StatefulSet,
} from 'kubernetes-types/apps/v1.js';
import type { CronJob, Job, JobCondition } from 'kubernetes-types/batch/v1.js';
import { age, humanDuration } from './duration.js';
import { containerCells, formatLabelSelector, formatLabels, selectorString } from './format.js';
import {
  AGE_COLUMN,
  CONTAINERS_COLUMN,
  column,
  IMAGES_COLUMN,
  NAME_COLUMN,
  type Printer,
  SELECTOR_COLUMN,
} from './table.js';

const WIDE = [CONTAINERS_COLUMN, IMAGES_COLUMN, SELECTOR_COLUMN];

export const deploymentPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('Ready', 'Number of the pod with ready state'),
    column(
      'Up-to-date',
      'Total number of non-terminated pods targeted by this deployment that have the desired template spec.',
    ),
    column(
      'Available',
      'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.',
    ),
    AGE_COLUMN,
    ...WIDE,
  ],
  row: (d: Deployment, { now }) => {
    const st = d.status;
    const [names, images] = containerCells(d.spec?.template?.spec?.containers);
    // Upstream prints the parsed selector as is here: '' when empty, not <none>.
    const selector = selectorString(d.spec?.selector) ?? '<invalid>';
    return {
      cells: [
        d.metadata?.name ?? '',
        `${st?.readyReplicas ?? 0}/${d.spec?.replicas ?? 1}`,
        st?.updatedReplicas ?? 0,
        st?.availableReplicas ?? 0,
        age(d.metadata?.creationTimestamp, now),
        names,
        images,
        selector,
      ],
    };
  },
};

export const replicaSetPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('Desired', 'Number of desired pods.', { type: 'integer' }),
    column('Current', 'The most recently observed number of replicas.', { type: 'integer' }),
    column('Ready', 'The number of pods targeted by this ReplicaSet with a Ready Condition.', {
      type: 'integer',
    }),
    AGE_COLUMN,
    ...WIDE,
  ],
  row: (rs: ReplicaSet, { now }) => {
    const [names, images] = containerCells(rs.spec?.template?.spec?.containers);
    return {
      cells: [
        rs.metadata?.name ?? '',
        rs.spec?.replicas ?? 1,
        rs.status?.replicas ?? 0,
        rs.status?.readyReplicas ?? 0,
        age(rs.metadata?.creationTimestamp, now),
        names,
        images,
        formatLabelSelector(rs.spec?.selector),
      ],
    };
  },
};

export const daemonSetPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('Desired', 'The total number of nodes that should be running the daemon pod.', {
      type: 'integer',
    }),
    column('Current', 'The number of nodes that are running at least 1 daemon pod and are supposed to.', {
      type: 'integer',
    }),
    column('Ready', 'The number of nodes running the daemon pod with a Ready Condition.', {
      type: 'integer',
    }),
    column('Up-to-date', 'The total number of nodes that are running updated daemon pod', {
      type: 'integer',
    }),
    column('Available', 'The number of nodes running the daemon pod available for minReadySeconds.', {
      type: 'integer',
    }),
    column('Node Selector', 'Labels a node must carry for the pod to fit on it.'),
    AGE_COLUMN,
    ...WIDE,
  ],
  row: (ds: DaemonSet, { now }) => {
    const st = ds.status;
    const [names, images] = containerCells(ds.spec?.template?.spec?.containers);
    return {
      cells: [
        ds.metadata?.name ?? '',
        st?.desiredNumberScheduled ?? 0,
        st?.currentNumberScheduled ?? 0,
        st?.numberReady ?? 0,
        st?.updatedNumberScheduled ?? 0,
        st?.numberAvailable ?? 0,
        formatLabels(ds.spec?.template?.spec?.nodeSelector),
        age(ds.metadata?.creationTimestamp, now),
        names,
        images,
        formatLabelSelector(ds.spec?.selector),
      ],
    };
  },
};

export const statefulSetPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('Ready', 'Number of the pod with ready state'),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
  ],
  row: (ss: StatefulSet, { now }) => {
    const [names, images] = containerCells(ss.spec?.template?.spec?.containers);
    return {
      cells: [
        ss.metadata?.name ?? '',
        `${ss.status?.readyReplicas ?? 0}/${ss.spec?.replicas ?? 1}`,
        age(ss.metadata?.creationTimestamp, now),
        names,
        images,
      ],
    };
  },
};

function hasCondition(conditions: readonly JobCondition[] | undefined, type: string): boolean {
  return (conditions ?? []).some((c) => c.type === type && c.status === 'True');
}

function jobStatus(job: Job): string {
  const conds = job.status?.conditions;
  if (hasCondition(conds, 'Complete')) return 'Complete';
  if (hasCondition(conds, 'Failed')) return 'Failed';
  if (job.metadata?.deletionTimestamp != null) return 'Terminating';
  if (hasCondition(conds, 'Suspended')) return 'Suspended';
  if (hasCondition(conds, 'FailureTarget')) return 'FailureTarget';
  if (hasCondition(conds, 'SuccessCriteriaMet')) return 'SuccessCriteriaMet';
  return 'Running';
}

function jobCompletions(job: Job): string {
  const succeeded = job.status?.succeeded ?? 0;
  if (job.spec?.completions != null) return `${succeeded}/${job.spec.completions}`;
  const parallelism = job.spec?.parallelism ?? 0;
  return parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
}

function jobDuration(job: Job, now: Date): string {
  const start = job.status?.startTime;
  if (!start) return '';
  const end = job.status?.completionTime;
  return humanDuration((end ? Date.parse(end) : now.getTime()) - Date.parse(start));
}

export const jobPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('Status', 'Status of the job.'),
    column('Completions', 'The number of pods which reached phase Succeeded.'),
    column('Duration', 'Time required to complete the job.'),
    AGE_COLUMN,
    ...WIDE,
  ],
  row: (job: Job, { now }) => {
    const [names, images] = containerCells(job.spec?.template?.spec?.containers);
    return {
      cells: [
        job.metadata?.name ?? '',
        jobStatus(job),
        jobCompletions(job),
        jobDuration(job, now),
        age(job.metadata?.creationTimestamp, now),
        names,
        images,
        formatLabelSelector(job.spec?.selector),
      ],
    };
  },
};

export const cronJobPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('Schedule', 'The schedule in Cron format.'),
    column('Timezone', 'The time zone name for the given schedule.'),
    column('Suspend', 'Whether subsequent executions are suspended.', { type: 'boolean' }),
    column('Active', 'The currently running jobs.', { type: 'integer' }),
    column('Last Schedule', 'When the job was last successfully scheduled.'),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
    column('Selector', 'A label query over pods that should match the pod count.', { priority: 1 }),
  ],
  row: (cj: CronJob, { now }) => {
    const jobSpec = cj.spec?.jobTemplate?.spec;
    const [names, images] = containerCells(jobSpec?.template?.spec?.containers);
    const suspend = cj.spec?.suspend;
    const last = cj.status?.lastScheduleTime;
    return {
      cells: [
        cj.metadata?.name ?? '',
        cj.spec?.schedule ?? '',
        cj.spec?.timeZone ?? '<none>',
        // Upstream's printBoolPtr: unset is shown as such, not as False.
        suspend === undefined || suspend === null ? '<unset>' : suspend ? 'True' : 'False',
        (cj.status?.active ?? []).length,
        last ? age(last, now) : '<none>',
        age(cj.metadata?.creationTimestamp, now),
        names,
        images,
        formatLabelSelector(jobSpec?.selector),
      ],
    };
  },
};

/** upstream: CONTROLLER is the controller owner as `<kind>.<group>/<name>`, `<none>` without one. */
export const controllerRevisionPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('Controller', 'Controller of the object'),
    column('Revision', 'Revision of the ControllerRevision', { type: 'integer' }),
    AGE_COLUMN,
  ],
  row: (cr: ControllerRevision, { now }) => {
    const ref = cr.metadata?.ownerReferences?.find((r) => r.controller);
    let controller = '<none>';
    if (ref) {
      const group = ref.apiVersion.includes('/') ? ref.apiVersion.split('/')[0] : '';
      controller = `${ref.kind.toLowerCase()}${group ? `.${group}` : ''}/${ref.name}`;
    }
    return {
      cells: [cr.metadata?.name ?? '', controller, cr.revision, age(cr.metadata?.creationTimestamp, now)],
    };
  },
};
