/**
 * The scheduler's view of the cluster: a NodeInfo per node with the pods bound to it, fed by the
 * pod and node informers, plus pods the scheduler has ASSUMED on a node (bound by its own decision,
 * the binding not yet seen through the watch) so the next decision already counts them. An assumed
 * pod is confirmed when the informer reports it bound, and forgotten when its binding fails.
 * Called from the scheduler's single thread only.
 */
import type { KObj } from '../client/informer.js';
import { NodeInfo } from './node-info.js';
import { type PodInfo, podInfo, podKey } from './pod-info.js';

interface PodState {
  info: PodInfo;
  nodeName: string;
  assumed: boolean;
}

/** Whether a bound pod still holds its node's resources (terminal pods do not). */
export function podHoldsResources(pod: KObj): boolean {
  const phase = pod.status?.phase;
  return Boolean(pod.spec?.nodeName) && phase !== 'Succeeded' && phase !== 'Failed';
}

export class SchedulerCache {
  private readonly nodes = new Map<string, NodeInfo>();
  private readonly pods = new Map<string, PodState>();
  /** Nodes with a Node object, in a stable order; rebuilt lazily after nodes come or go. */
  private list: NodeInfo[] | undefined;

  /** Every schedulable candidate (NodeInfos that have a Node object). */
  nodeList(): readonly NodeInfo[] {
    if (!this.list) {
      this.list = [...this.nodes.values()]
        .filter((n) => n.node !== undefined)
        .sort((a, b) => (a.name < b.name ? -1 : 1));
    }
    return this.list;
  }

  node(name: string): NodeInfo | undefined {
    return this.nodes.get(name);
  }

  nodeCount(): number {
    return this.nodeList().length;
  }

  /** Add or update a node from the informer. */
  setNode(node: KObj): void {
    const name = node.metadata.name as string;
    let ni = this.nodes.get(name);
    if (!ni) {
      ni = new NodeInfo(name);
      this.nodes.set(name, ni);
    }
    if (!ni.node) this.list = undefined;
    ni.setNode(node);
  }

  removeNode(name: string): void {
    const ni = this.nodes.get(name);
    if (!ni) return;
    this.list = undefined;
    // Pods still bound to it keep a placeholder until they are deleted, as upstream keeps them.
    if (ni.podCount > 0) ni.node = undefined;
    else this.nodes.delete(name);
  }

  private nodeFor(name: string): NodeInfo {
    let ni = this.nodes.get(name);
    if (!ni) {
      ni = new NodeInfo(name);
      this.nodes.set(name, ni);
    }
    return ni;
  }

  /** Count a pod the scheduler just chose a node for, before the API confirms it. */
  assumePod(info: PodInfo, nodeName: string): void {
    this.removePodByKey(info.key);
    this.nodeFor(nodeName).addPod(info);
    this.pods.set(info.key, { info, nodeName, assumed: true });
  }

  /** Undo an assumption (the binding failed). No-op when the informer already confirmed the pod. */
  forgetPod(key: string): void {
    const st = this.pods.get(key);
    if (st?.assumed) this.removePodByKey(key);
  }

  isAssumed(key: string): boolean {
    return this.pods.get(key)?.assumed === true;
  }

  /** The informer saw a pod (added or updated): account it where it is bound, or drop it. */
  observePod(pod: KObj): void {
    const key = podKey(pod);
    const st = this.pods.get(key);
    if (!podHoldsResources(pod)) {
      // Unbound pods are the queue's business; an assumed pod whose binding is still in flight stays.
      if (st && !(st.assumed && !pod.spec?.nodeName && st.info.uid === pod.metadata?.uid))
        this.removePodByKey(key);
      return;
    }
    if (st && !st.assumed && st.info.pod === pod) return;
    this.removePodByKey(key);
    const info = podInfo(pod);
    this.nodeFor(pod.spec.nodeName).addPod(info);
    this.pods.set(key, { info, nodeName: pod.spec.nodeName, assumed: false });
  }

  /** The informer saw a pod deleted. */
  deletePod(pod: KObj): void {
    const key = podKey(pod);
    const st = this.pods.get(key);
    if (st && st.info.uid === (pod.metadata?.uid ?? st.info.uid)) this.removePodByKey(key);
  }

  private removePodByKey(key: string): void {
    const st = this.pods.get(key);
    if (!st) return;
    this.pods.delete(key);
    const ni = this.nodes.get(st.nodeName);
    if (!ni) return;
    ni.removePod(st.info);
    if (!ni.node && ni.podCount === 0) this.nodes.delete(st.nodeName);
  }

  /** Number of pods accounted (bound or assumed). */
  podCount(): number {
    return this.pods.size;
  }
}
