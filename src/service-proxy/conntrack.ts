/**
 * UDP conntrack cleanup after a sync (both kernel backends): flows pinned to an endpoint that went
 * away, and flows to a service port that had no endpoint (they were rejected and would keep failing),
 * are deleted with `conntrack -D`, as upstream does. TCP needs none: a reset ends those flows.
 */
import type { SyncRequest } from './backend.js';
import { type IpFamily, ipFamilyOf, type ServicePortInfo, servicePortKey } from './model.js';
import type { CommandRunner } from './runner.js';

/** Run the `conntrack -D` commands the sync's changes call for (one family). */
export async function clearStaleConntrack(
  runner: CommandRunner,
  fam: IpFamily,
  req: Pick<SyncRequest, 'state' | 'staleEndpoints' | 'newlyActiveUdp' | 'removedServicePorts'>,
): Promise<void> {
  const famArgs = fam === 'IPv6' ? ['-f', 'ipv6'] : [];
  const cmds: string[][] = [];
  const infoOf = (key: string): ServicePortInfo | undefined =>
    req.state.services.get(key) ??
    req.removedServicePorts.find((s) => servicePortKey(s.name, s.protocol) === key);
  const destinations = (sp: ServicePortInfo) =>
    [...sp.clusterIPs, ...sp.externalIPs, ...sp.loadBalancerIPs].filter((ip) => ipFamilyOf(ip) === fam);
  for (const st of req.staleEndpoints) {
    if (ipFamilyOf(st.endpoint.ip) !== fam) continue;
    const sp = infoOf(st.servicePortKey);
    if (sp?.protocol !== 'UDP') continue;
    for (const ip of destinations(sp))
      cmds.push([...famArgs, '-D', '-p', 'udp', '--orig-dst', ip, '--dst-nat', st.endpoint.ip]);
    if (sp.nodePort)
      cmds.push([
        ...famArgs,
        '-D',
        '-p',
        'udp',
        '--orig-port-dst',
        String(sp.nodePort),
        '--dst-nat',
        st.endpoint.ip,
      ]);
  }
  const inFamily = (sp: ServicePortInfo) => sp.clusterIPs.some((ip) => ipFamilyOf(ip) === fam);
  for (const key of req.newlyActiveUdp) {
    const sp = req.state.services.get(key);
    if (sp?.protocol !== 'UDP' || !inFamily(sp)) continue;
    for (const ip of destinations(sp)) cmds.push([...famArgs, '-D', '-p', 'udp', '--orig-dst', ip]);
    if (sp.nodePort) cmds.push([...famArgs, '-D', '-p', 'udp', '--orig-port-dst', String(sp.nodePort)]);
  }
  for (const sp of req.removedServicePorts) {
    if (sp.protocol !== 'UDP' || !inFamily(sp)) continue;
    for (const ip of destinations(sp)) cmds.push([...famArgs, '-D', '-p', 'udp', '--orig-dst', ip]);
  }
  // conntrack exits 1 when no flow matched: that is not an error worth reporting.
  for (const args of cmds) await runner.run('conntrack', args);
}
