/**
 * A small GCE metadata server client: GET `/computeMetadata/v1/...` with `Metadata-Flavor: Google`,
 * and an answer counts only if it carries the same header back (as Google's own libraries check).
 * Short timeouts so that off GCE the answer "not here" comes fast; the endpoint is injectable.
 */

export const GCE_METADATA_ENDPOINT = 'http://169.254.169.254';

export interface GceMetadataOptions {
  /** Base URL (default http://169.254.169.254, the address metadata.google.internal resolves to). */
  endpoint?: string | undefined;
  /** Per-request timeout (ms, default 1000). */
  timeoutMs?: number | undefined;
}

/** Identity of this GCE instance. */
export interface GceIdentity {
  project: string;
  zone: string;
  region: string;
  name: string;
  machineType: string;
  internalIp: string;
  externalIp?: string | undefined;
}

export class GceMetadata {
  private readonly endpoint: string;
  private readonly timeoutMs: number;

  constructor(opts: GceMetadataOptions = {}) {
    this.endpoint = (opts.endpoint ?? GCE_METADATA_ENDPOINT).replace(/\/$/, '');
    this.timeoutMs = opts.timeoutMs ?? 1000;
  }

  /** GET one path under /computeMetadata/v1/; undefined on 404. */
  async get(path: string): Promise<string | undefined> {
    const res = await fetch(`${this.endpoint}/computeMetadata/v1/${path}`, {
      headers: { 'metadata-flavor': 'Google' },
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (res.headers.get('metadata-flavor') !== 'Google')
      throw new Error(`${path}: the answer is not from a GCE metadata server`);
    if (res.status === 404) return undefined;
    if (!res.ok) throw new Error(`GCE metadata ${path}: HTTP ${res.status}`);
    return (await res.text()).trim();
  }

  private async must(path: string): Promise<string> {
    const v = await this.get(path);
    if (v === undefined) throw new Error(`GCE metadata ${path}: not found`);
    return v;
  }

  /** Whether a GCE metadata server answers. */
  async available(): Promise<boolean> {
    try {
      return (await this.must('project/project-id')).length > 0;
    } catch {
      return false;
    }
  }

  /** Project, zone, name, machine type and addresses of this instance. */
  async identity(): Promise<GceIdentity> {
    const [project, zonePath, name, machinePath, internalIp, externalIp] = await Promise.all([
      this.must('project/project-id'),
      this.must('instance/zone'),
      this.must('instance/name'),
      this.must('instance/machine-type'),
      this.must('instance/network-interfaces/0/ip'),
      this.get('instance/network-interfaces/0/access-configs/0/external-ip'),
    ]);
    const zone = lastSegment(zonePath);
    return {
      project,
      zone,
      region: zone.replace(/-[a-z]$/, ''),
      name,
      machineType: lastSegment(machinePath),
      internalIp,
      externalIp: externalIp || undefined,
    };
  }
}

function lastSegment(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}
