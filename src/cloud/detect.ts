/**
 * Which cloud are we on? When `--cloud-provider` is not given, ask the EC2 (IMDSv2) and GCE
 * metadata services at the same time, each with a short timeout, and fall back to `local`: a
 * laptop starts at once. Both answer on 169.254.169.254, so the GCE check also requires the
 * `Metadata-Flavor: Google` header in the answer.
 */
import { Ec2Metadata } from './ec2-metadata.js';
import { GceMetadata } from './gce-metadata.js';
import type { ProviderName } from './provider.js';

export interface DetectOptions {
  ec2Endpoint?: string | undefined;
  gceEndpoint?: string | undefined;
  /** Per-request timeout (ms, default 500). */
  timeoutMs?: number | undefined;
}

/** `aws`, `gce` or (nothing answered) `local`. */
export async function detectCloudProvider(opts: DetectOptions = {}): Promise<ProviderName> {
  const timeoutMs = opts.timeoutMs ?? 500;
  const ec2 = new Ec2Metadata({ endpoint: opts.ec2Endpoint, timeoutMs });
  const gce = new GceMetadata({ endpoint: opts.gceEndpoint, timeoutMs });
  const [onGce, onAws] = await Promise.all([gce.available(), ec2.available()]);
  if (onGce) return 'gce';
  if (onAws) return 'aws';
  return 'local';
}
