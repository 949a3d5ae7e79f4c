/**
 * ClusterIP and NodePort allocation for Services, as registry write hooks: allocate on create,
 * carry allocated values over on update, allocate/release on type changes, release on delete, and
 * rebuild from the stored Services at startup (the repair: nothing leaks across restarts).
 *
 * Invariant: called from the registry's write path only; the allocators live in this one process.
 * (An HA control plane needs store-backed allocators: TODO(#9).)
 */
import {
  type FieldError,
  GoValue,
  invalid as invalidField,
  invalidStatusMessage,
  statusCauses,
} from '../api/field-error.js';
import type { ResourceInfo } from '../api/resources.js';
import { AllocatorError } from './allocator/errors.js';
import type { NodePortAllocator } from './allocator/node-port-allocator.js';
import type { ServiceIpAllocator } from './allocator/service-ip-allocator.js';
import { ApiError, internalError } from './errors.js';
import type { KObj, WriteHooks } from './registry.js';

export interface ServiceAllocators {
  ips: ServiceIpAllocator;
  ports: NodePortAllocator;
}

function needsClusterIP(svc: KObj): boolean {
  return svc.spec?.type !== 'ExternalName';
}

function needsNodePorts(svc: KObj): boolean {
  const t = svc.spec?.type;
  if (t === 'NodePort') return true;
  return t === 'LoadBalancer' && svc.spec?.allocateLoadBalancerNodePorts !== false;
}

function needsHealthCheckPort(svc: KObj): boolean {
  return svc.spec?.type === 'LoadBalancer' && svc.spec?.externalTrafficPolicy === 'Local';
}

function invalidService(name: string, errs: FieldError[]): ApiError {
  return new ApiError(422, 'Invalid', invalidStatusMessage('Service', '', name, errs), {
    name,
    group: '',
    kind: 'Service',
    causes: statusCauses(errs),
  });
}

/** Wraps allocations of one write so they can be undone together. */
class Tx {
  private readonly undos: (() => void)[] = [];
  private readonly releases: (() => void)[] = [];
  onUndo(fn: () => void) {
    this.undos.push(fn);
  }
  onCommit(fn: () => void) {
    this.releases.push(fn);
  }
  undo = () => {
    for (const u of this.undos.reverse()) u();
  };
  commit = () => {
    for (const r of this.releases) r();
  };
}

function allocateFor(a: ServiceAllocators, svc: KObj, old: KObj | undefined, tx: Tx): void {
  const name = svc.metadata?.name ?? '';
  const spec = svc.spec ?? (svc.spec = {});
  const fail = (field: string, value: unknown, e: unknown): never => {
    if (e instanceof AllocatorError && (e.code === 'ALREADY_ALLOCATED' || e.code === 'NOT_IN_RANGE')) {
      const err =
        field === 'spec.clusterIPs'
          ? invalidField(
              field,
              new GoValue(`[]string{"${value}"}`),
              `failed to allocate IP ${value}: ${e.message}`,
            )
          : invalidField(field, value, e.message);
      throw invalidService(name, [err]);
    }
    if (e instanceof AllocatorError) throw internalError(e.message);
    throw e;
  };
  // IP families: the service CIDR is single-stack, so a new Service may only ask for its family.
  const clusterFamily = a.ips.family === 6 ? 'IPv6' : 'IPv4';
  if (needsClusterIP(svc) && !old) {
    const fams: string[] = spec.ipFamilies ?? [];
    if (fams.length > 0 && fams[0] !== clusterFamily)
      throw invalidService(name, [
        invalidField('spec.ipFamilies[0]', fams[0], 'not configured on this cluster'),
      ]);
    if (fams.length > 1) {
      if (spec.ipFamilyPolicy === 'RequireDualStack')
        throw invalidService(name, [
          invalidField(
            'spec.ipFamilyPolicy',
            'RequireDualStack',
            'this cluster is not configured for dual-stack services',
          ),
        ]);
      // PreferDualStack on a single-stack cluster: the one family there is.
      spec.ipFamilies = [fams[0]];
    }
  }
  // ClusterIP
  const oldIP: string | undefined = old && needsClusterIP(old) ? old.spec?.clusterIP : undefined;
  if (needsClusterIP(svc)) {
    if (spec.clusterIP === 'None') {
      spec.clusterIPs = ['None'];
    } else if (oldIP && oldIP !== 'None' && (!spec.clusterIP || spec.clusterIP === oldIP)) {
      spec.clusterIP = oldIP;
      spec.clusterIPs = [oldIP];
    } else if (spec.clusterIP) {
      try {
        a.ips.allocateSpecific(spec.clusterIP);
      } catch (e) {
        fail('spec.clusterIPs', spec.clusterIP, e);
      }
      const ip = spec.clusterIP;
      tx.onUndo(() => a.ips.release(ip));
      spec.clusterIPs = [ip];
    } else {
      let ip = '';
      try {
        ip = a.ips.allocate();
      } catch (e) {
        fail('spec.clusterIPs', '', e);
      }
      tx.onUndo(() => a.ips.release(ip));
      spec.clusterIP = ip;
      spec.clusterIPs = [ip];
    }
  } else {
    delete spec.clusterIP;
    delete spec.clusterIPs;
  }
  if (needsClusterIP(svc) && (spec.ipFamilies ?? []).length === 0) spec.ipFamilies = [clusterFamily];
  if (oldIP && oldIP !== 'None' && spec.clusterIP !== oldIP) tx.onCommit(() => a.ips.release(oldIP));

  // NodePorts
  const oldPorts = new Set<number>();
  if (old && needsNodePorts(old))
    for (const p of old.spec?.ports ?? []) if (p.nodePort) oldPorts.add(p.nodePort);
  const kept = new Set<number>();
  if (needsNodePorts(svc)) {
    (spec.ports ?? []).forEach((p: KObj, i: number) => {
      if (!p.nodePort && old) {
        // Carry over the port allocated to the same service port (upstream's patchAllocatedValues).
        const prev = (old.spec?.ports ?? []).find(
          (o: KObj) => o.port === p.port && (o.protocol ?? 'TCP') === (p.protocol ?? 'TCP') && o.nodePort,
        );
        if (prev && oldPorts.has(prev.nodePort)) p.nodePort = prev.nodePort;
      }
      if (p.nodePort && oldPorts.has(p.nodePort)) {
        kept.add(p.nodePort);
        return;
      }
      if (p.nodePort && kept.has(p.nodePort)) return;
      if (p.nodePort) {
        try {
          a.ports.allocateSpecific(p.nodePort);
        } catch (e) {
          fail(`spec.ports[${i}].nodePort`, p.nodePort, e);
        }
      } else {
        try {
          p.nodePort = a.ports.allocate();
        } catch (e) {
          fail(`spec.ports[${i}].nodePort`, 0, e);
        }
      }
      const port = p.nodePort as number;
      kept.add(port);
      tx.onUndo(() => a.ports.release(port));
    });
  }
  // Health check node port (LoadBalancer + externalTrafficPolicy Local).
  const oldHc: number | undefined =
    old && needsHealthCheckPort(old) ? old.spec?.healthCheckNodePort : undefined;
  if (needsHealthCheckPort(svc)) {
    if (!spec.healthCheckNodePort && oldHc) spec.healthCheckNodePort = oldHc;
    if (oldHc !== undefined && spec.healthCheckNodePort === oldHc) {
      kept.add(oldHc);
    } else if (spec.healthCheckNodePort) {
      try {
        a.ports.allocateSpecific(spec.healthCheckNodePort);
      } catch (e) {
        fail('spec.healthCheckNodePort', spec.healthCheckNodePort, e);
      }
      const hp = spec.healthCheckNodePort as number;
      tx.onUndo(() => a.ports.release(hp));
    } else {
      const hp = a.ports.allocate();
      spec.healthCheckNodePort = hp;
      tx.onUndo(() => a.ports.release(hp));
    }
  } else {
    delete spec.healthCheckNodePort;
  }
  if (oldHc) oldPorts.add(oldHc);
  for (const p of oldPorts) if (!kept.has(p)) tx.onCommit(() => a.ports.release(p));
}

/** Registry hooks that keep the allocators in step with stored Services. */
export function serviceAllocationHooks(
  a: ServiceAllocators,
): Required<Pick<WriteHooks, 'prepareUpdate' | 'beforeCreate' | 'beforeUpdate' | 'afterDelete'>> {
  return {
    prepareUpdate(info: ResourceInfo, obj: KObj, old: KObj) {
      if (info.kind !== 'Service') return;
      carryOver(obj, old);
    },
    beforeCreate(info: ResourceInfo, obj: KObj) {
      if (info.kind !== 'Service') return undefined;
      const tx = new Tx();
      try {
        allocateFor(a, obj, undefined, tx);
      } catch (e) {
        tx.undo();
        throw e;
      }
      return tx.undo;
    },
    beforeUpdate(info: ResourceInfo, obj: KObj, old: KObj) {
      if (info.kind !== 'Service') return undefined;
      const tx = new Tx();
      try {
        allocateFor(a, obj, old, tx);
      } catch (e) {
        tx.undo();
        throw e;
      }
      return { undo: tx.undo, commit: tx.commit };
    },
    afterDelete(info: ResourceInfo, obj: KObj) {
      if (info.kind !== 'Service') return;
      releaseAll(a, obj);
    },
  };
}

/**
 * Upstream's patchAllocatedValues: a client that omits the clusterIP or a nodePort on update keeps
 * the allocated one, so that a PUT of a stale manifest does not trip immutability.
 */
function carryOver(svc: KObj, old: KObj): void {
  const spec = svc.spec;
  if (!spec || !old.spec) return;
  if (needsClusterIP(svc) && needsClusterIP(old) && old.spec.clusterIP) {
    if (!spec.clusterIP) spec.clusterIP = old.spec.clusterIP;
    if (!spec.clusterIPs?.length && spec.clusterIP === old.spec.clusterIP)
      spec.clusterIPs = old.spec.clusterIPs;
  }
  if (needsNodePorts(svc) && needsNodePorts(old)) {
    for (const p of spec.ports ?? []) {
      if (p.nodePort) continue;
      const prev = (old.spec.ports ?? []).find(
        (o: KObj) => o.port === p.port && (o.protocol ?? 'TCP') === (p.protocol ?? 'TCP') && o.nodePort,
      );
      if (prev) p.nodePort = prev.nodePort;
    }
  }
  if (needsHealthCheckPort(svc) && needsHealthCheckPort(old) && !spec.healthCheckNodePort)
    spec.healthCheckNodePort = old.spec.healthCheckNodePort;
}

function releaseAll(a: ServiceAllocators, svc: KObj): void {
  const ip = svc.spec?.clusterIP;
  if (ip && ip !== 'None' && a.ips.contains(ip)) a.ips.release(ip);
  for (const p of svc.spec?.ports ?? [])
    if (p.nodePort && a.ports.has(p.nodePort)) a.ports.release(p.nodePort);
  if (svc.spec?.healthCheckNodePort && a.ports.has(svc.spec.healthCheckNodePort))
    a.ports.release(svc.spec.healthCheckNodePort);
}

/** Rebuild the allocators from every stored Service (startup repair). */
export function repairAllocators(a: ServiceAllocators, services: KObj[]): { ips: number; ports: number } {
  const ips: string[] = [];
  const ports: number[] = [];
  for (const s of services) {
    const ip = s.spec?.clusterIP;
    if (ip && ip !== 'None' && a.ips.contains(ip)) ips.push(ip);
    for (const p of s.spec?.ports ?? []) if (p.nodePort) ports.push(p.nodePort);
    if (s.spec?.healthCheckNodePort) ports.push(s.spec.healthCheckNodePort);
  }
  a.ips.rebuild(ips);
  a.ports.rebuild(ports);
  return { ips: ips.length, ports: ports.length };
}
