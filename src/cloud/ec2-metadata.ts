/**
 * A small EC2 instance metadata client speaking IMDSv2: a session token from
 * `PUT /latest/api/token` (TTL header), then GETs that carry it in `X-aws-ec2-metadata-token`.
 * Every request has a short timeout, so that off EC2 the answer "not here" comes fast. The
 * endpoint is injectable (tests run a fake metadata server on loopback).
 */

export const EC2_METADATA_ENDPOINT = 'http://169.254.169.254';

export interface Ec2MetadataOptions {
  /** Base URL (default http://169.254.169.254). */
  endpoint?: string | undefined;
  /** Per-request timeout (ms, default 1000). */
  timeoutMs?: number | undefined;
}

/** Identity of this EC2 instance as the metadata service reports it. */
export interface Ec2Identity {
  instanceId: string;
  instanceType: string;
  availabilityZone: string;
  region: string;
  localIpv4: string;
  publicIpv4?: string | undefined;
  localHostname?: string | undefined;
}

export class Ec2Metadata {
  private readonly endpoint: string;
  private readonly timeoutMs: number;
  private token: string | undefined;

  constructor(opts: Ec2MetadataOptions = {}) {
    this.endpoint = (opts.endpoint ?? EC2_METADATA_ENDPOINT).replace(/\/$/, '');
    this.timeoutMs = opts.timeoutMs ?? 1000;
  }

  private async sessionToken(): Promise<string> {
    if (this.token) return this.token;
    const res = await fetch(`${this.endpoint}/latest/api/token`, {
      method: 'PUT',
      headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '21600' },
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (!res.ok) throw new Error(`IMDSv2 token: HTTP ${res.status}`);
    this.token = (await res.text()).trim();
    return this.token;
  }

  /** GET one metadata path (e.g. `instance-id`); undefined on 404. */
  async get(path: string): Promise<string | undefined> {
    const token = await this.sessionToken();
    const res = await fetch(`${this.endpoint}/latest/meta-data/${path}`, {
      headers: { 'x-aws-ec2-metadata-token': token },
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (res.status === 404) return undefined;
    if (!res.ok) throw new Error(`IMDS ${path}: HTTP ${res.status}`);
    return (await res.text()).trim();
  }

  private async must(path: string): Promise<string> {
    const v = await this.get(path);
    if (v === undefined) throw new Error(`IMDS ${path}: not found`);
    return v;
  }

  /** Whether an IMDSv2 service answers (false on timeout, refusal or a non-EC2 answer). */
  async available(): Promise<boolean> {
    try {
      return /^i-[0-9a-f]+$/.test(await this.must('instance-id'));
    } catch {
      return false;
    }
  }

  /** The instance's id, type, placement and addresses. */
  async identity(): Promise<Ec2Identity> {
    const [instanceId, instanceType, availabilityZone, localIpv4, publicIpv4, localHostname] =
      await Promise.all([
        this.must('instance-id'),
        this.must('instance-type'),
        this.must('placement/availability-zone'),
        this.must('local-ipv4'),
        this.get('public-ipv4'),
        this.get('local-hostname'),
      ]);
    const region = (await this.get('placement/region')) ?? availabilityZone.replace(/[a-z]$/, '');
    return { instanceId, instanceType, availabilityZone, region, localIpv4, publicIpv4, localHostname };
  }
}
