/**
 * The Compute clients the GCE provider uses, built once with the same options (endpoint, port,
 * protocol, auth), and `waitOp`, which turns the client's not-yet-polled operation into a
 * finished one: our own wait, since @google-cloud/compute 6 returns the raw operation.
 */
import {
  AddressesClient,
  FirewallsClient,
  ForwardingRulesClient,
  GlobalOperationsClient,
  InstanceGroupsClient,
  InstancesClient,
  RegionBackendServicesClient,
  RegionHealthChecksClient,
  RegionOperationsClient,
  RoutesClient,
  ZoneOperationsClient,
} from '@google-cloud/compute';

export interface GceClientOptions {
  /** e.g. `127.0.0.1` for a fake; default compute.googleapis.com. */
  apiEndpoint?: string | undefined;
  port?: number | undefined;
  protocol?: 'http' | 'https' | undefined;
  /** An AuthClient (google-auth-library); default: application default credentials. */
  authClient?: unknown;
}

export class GceApi {
  readonly addresses: AddressesClient;
  readonly firewalls: FirewallsClient;
  readonly forwardingRules: ForwardingRulesClient;
  readonly backendServices: RegionBackendServicesClient;
  readonly healthChecks: RegionHealthChecksClient;
  readonly instanceGroups: InstanceGroupsClient;
  readonly instances: InstancesClient;
  readonly routes: RoutesClient;
  private readonly regionOps: RegionOperationsClient;
  private readonly globalOps: GlobalOperationsClient;
  private readonly zoneOps: ZoneOperationsClient;

  constructor(opts: GceClientOptions = {}) {
    const o: Record<string, any> = { fallback: true };
    if (opts.apiEndpoint) o.apiEndpoint = opts.apiEndpoint;
    if (opts.port) o.port = opts.port;
    if (opts.protocol) o.protocol = opts.protocol;
    if (opts.authClient) o.authClient = opts.authClient;
    this.addresses = new AddressesClient(o);
    this.firewalls = new FirewallsClient(o);
    this.forwardingRules = new ForwardingRulesClient(o);
    this.backendServices = new RegionBackendServicesClient(o);
    this.healthChecks = new RegionHealthChecksClient(o);
    this.instanceGroups = new InstanceGroupsClient(o);
    this.instances = new InstancesClient(o);
    this.routes = new RoutesClient(o);
    this.regionOps = new RegionOperationsClient(o);
    this.globalOps = new GlobalOperationsClient(o);
    this.zoneOps = new ZoneOperationsClient(o);
  }

  /**
   * Wait for an operation returned by a mutating call (`[lro]` of the client) to be DONE, and
   * throw its error if it failed.
   */
  async waitOp(call: Promise<unknown>, project: string): Promise<void> {
    const [lro] = (await call) as [{ latestResponse?: OperationLike }];
    let op = lro.latestResponse;
    for (let i = 0; op && op.status !== 'DONE' && i < 120; i++) {
      const req = { project, operation: op.name! };
      const zone = op.zone ? segment(op.zone) : undefined;
      const region = op.region ? segment(op.region) : undefined;
      const [next] = zone
        ? await this.zoneOps.wait({ ...req, zone })
        : region
          ? await this.regionOps.wait({ ...req, region })
          : await this.globalOps.wait(req);
      op = next as OperationLike;
    }
    if (op?.error?.errors?.length)
      throw new Error(`operation ${op.name} failed: ${op.error.errors.map((e) => e.message).join('; ')}`);
  }

  async close(): Promise<void> {
    await Promise.all(
      [
        this.addresses,
        this.firewalls,
        this.forwardingRules,
        this.backendServices,
        this.healthChecks,
        this.instanceGroups,
        this.instances,
        this.routes,
        this.regionOps,
        this.globalOps,
        this.zoneOps,
      ].map((c) => c.close()),
    );
  }
}

interface OperationLike {
  name?: string | null;
  status?: string | null;
  zone?: string | null;
  region?: string | null;
  error?: { errors?: { message?: string | null }[] | null } | null;
}

function segment(s: string): string {
  return s.slice(s.lastIndexOf('/') + 1);
}

/** The HTTP status of a Compute error (404, 409, 400...). */
export function gceErrorCode(e: unknown): number | undefined {
  const c = (e as { code?: unknown })?.code;
  return typeof c === 'number' ? c : undefined;
}

/** Does a Compute error carry this reason (e.g. resourceInUseByAnotherResource)? */
export function gceErrorReason(e: unknown, reason: string): boolean {
  return String((e as Error)?.message ?? '').includes(reason);
}
