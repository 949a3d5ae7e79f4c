import dnsPacket from 'dns-packet';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { describe, expect, it } from 'vitest';
import { RecordIndex } from './record-index.js';
import { buildRecords } from './records.js';
import { renderAnswer } from './responder.js';
import { nameKey, QueryView } from './wire.js';

const services: Service[] = [
  {
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      clusterIP: '10.43.0.20',
      clusterIPs: ['10.43.0.20', 'fd00:43::20'],
      ports: [
        { name: 'http', port: 80, protocol: 'TCP' },
        { name: 'dns', port: 53, protocol: 'UDP' },
      ],
    },
  },
  {
    metadata: { name: 'plain', namespace: 'other' },
    spec: { clusterIP: '10.43.0.21', ports: [{ port: 8080 }] },
  },
  {
    metadata: { name: 'db', namespace: 'default' },
    spec: { clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }] },
  },
  { metadata: { name: 'empty', namespace: 'default' }, spec: { clusterIP: 'None' } },
  {
    metadata: { name: 'ext', namespace: 'default' },
    spec: { type: 'ExternalName', externalName: 'www.example.com.' },
  },
  {
    metadata: { name: 'alias', namespace: 'default' },
    spec: { type: 'ExternalName', externalName: 'web.default.svc.cluster.local' },
  },
  {
    metadata: { name: 'notready', namespace: 'default' },
    spec: { clusterIP: 'None', publishNotReadyAddresses: true },
  },
];
const slices: EndpointSlice[] = [
  {
    metadata: { name: 'db-abc', namespace: 'default', labels: { 'kubernetes.io/service-name': 'db' } },
    addressType: 'IPv4',
    ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
    endpoints: [
      { addresses: ['10.42.0.5'], hostname: 'db-0', conditions: { ready: true } },
      { addresses: ['10.42.0.6'], conditions: { ready: true } },
      { addresses: ['10.42.0.7'], hostname: 'db-2', conditions: { ready: false } },
    ],
  },
  {
    metadata: { name: 'nr-abc', namespace: 'default', labels: { 'kubernetes.io/service-name': 'notready' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.42.0.9'], conditions: { ready: false } }],
  },
];

const zr = buildRecords(
  { services, slices, namespaces: ['default', 'other', 'kube-system'] },
  { zone: 'cluster.local', ttl: 5, dnsIps: ['10.43.0.10'] },
);
const index = new RecordIndex(zr, { zone: 'cluster.local', ttl: 5, serial: 42 });

function ask(name: string, type: string, opts: { edns?: boolean; maxSize?: number } = {}) {
  const query = dnsPacket.encode({
    type: 'query',
    id: 4242,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: type as any, name, class: 'IN' }],
    additionals: opts.edns ? [{ type: 'OPT', name: '.', udpPayloadSize: 4096 } as any] : [],
  });
  const q = new QueryView();
  expect(q.parse(query)).toBe(true);
  const a = index.lookup(q.key, q.qtype);
  if (!a) return undefined;
  const res = renderAnswer(a, query, {
    qlen: q.qlen,
    hasOpt: q.hasOpt,
    maxSize: opts.maxSize ?? 65535,
    serial: index.serial,
  });
  return { a, res, p: dnsPacket.decode(res) };
}

function show(r: any): string {
  const d = r.data;
  if (r.type === 'SRV') return `${r.name} ${r.ttl} SRV ${d.priority} ${d.weight} ${d.port} ${d.target}`;
  if (r.type === 'SOA') return `${r.name} SOA ${d.mname} ${d.rname} ${d.minimum}`;
  if (r.type === 'TXT') return `${r.name} TXT ${d.map((b: Buffer) => b.toString()).join('')}`;
  return `${r.name} ${r.ttl} ${r.type} ${d}`;
}

describe('RecordIndex answers (a pure function of the objects)', () => {
  const soa = 'cluster.local SOA ns.dns.cluster.local hostmaster.cluster.local 5';
  const cases: {
    name: string;
    type: string;
    rcode: string;
    answers: string[];
    authority?: string[];
    additional?: string[];
  }[] = [
    {
      name: 'web.default.svc.cluster.local',
      type: 'A',
      rcode: 'NOERROR',
      answers: ['web.default.svc.cluster.local 5 A 10.43.0.20'],
    },
    {
      name: 'WEB.Default.svc.Cluster.local',
      type: 'A',
      rcode: 'NOERROR',
      answers: ['WEB.Default.svc.Cluster.local 5 A 10.43.0.20'],
    },
    {
      name: 'web.default.svc.cluster.local',
      type: 'AAAA',
      rcode: 'NOERROR',
      answers: ['web.default.svc.cluster.local 5 AAAA fd00:43::20'],
    },
    { name: 'web.default.svc.cluster.local', type: 'TXT', rcode: 'NOERROR', answers: [], authority: [soa] },
    {
      name: '_http._tcp.web.default.svc.cluster.local',
      type: 'SRV',
      rcode: 'NOERROR',
      answers: ['_http._tcp.web.default.svc.cluster.local 5 SRV 0 100 80 web.default.svc.cluster.local'],
      additional: [
        'web.default.svc.cluster.local 5 A 10.43.0.20',
        'web.default.svc.cluster.local 5 AAAA fd00:43::20',
      ],
    },
    {
      name: '_dns._udp.web.default.svc.cluster.local',
      type: 'SRV',
      rcode: 'NOERROR',
      answers: ['_dns._udp.web.default.svc.cluster.local 5 SRV 0 100 53 web.default.svc.cluster.local'],
      additional: [
        'web.default.svc.cluster.local 5 A 10.43.0.20',
        'web.default.svc.cluster.local 5 AAAA fd00:43::20',
      ],
    },
    {
      name: '_http._udp.web.default.svc.cluster.local',
      type: 'SRV',
      rcode: 'NXDOMAIN',
      answers: [],
      authority: [soa],
    },
    {
      name: '_tcp.web.default.svc.cluster.local',
      type: 'SRV',
      rcode: 'NOERROR',
      answers: [],
      authority: [soa],
    },
    {
      name: 'plain.other.svc.cluster.local',
      type: 'A',
      rcode: 'NOERROR',
      answers: ['plain.other.svc.cluster.local 5 A 10.43.0.21'],
    },
    {
      name: '20.0.43.10.in-addr.arpa',
      type: 'PTR',
      rcode: 'NOERROR',
      answers: ['20.0.43.10.in-addr.arpa 5 PTR web.default.svc.cluster.local'],
    },
    {
      name: '0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.4.0.0.0.0.d.f.ip6.arpa',
      type: 'PTR',
      rcode: 'NOERROR',
      answers: [
        '0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.4.0.0.0.0.d.f.ip6.arpa 5 PTR web.default.svc.cluster.local',
      ],
    },
    {
      name: 'db.default.svc.cluster.local',
      type: 'A',
      rcode: 'NOERROR',
      answers: ['db.default.svc.cluster.local 5 A 10.42.0.5', 'db.default.svc.cluster.local 5 A 10.42.0.6'],
    },
    {
      name: 'db-0.db.default.svc.cluster.local',
      type: 'A',
      rcode: 'NOERROR',
      answers: ['db-0.db.default.svc.cluster.local 5 A 10.42.0.5'],
    },
    {
      name: '10-42-0-6.db.default.svc.cluster.local',
      type: 'A',
      rcode: 'NOERROR',
      answers: ['10-42-0-6.db.default.svc.cluster.local 5 A 10.42.0.6'],
    },
    {
      name: 'db-2.db.default.svc.cluster.local',
      type: 'A',
      rcode: 'NXDOMAIN',
      answers: [],
      authority: [soa],
    },
    {
      name: '_pg._tcp.db.default.svc.cluster.local',
      type: 'SRV',
      rcode: 'NOERROR',
      answers: [
        '_pg._tcp.db.default.svc.cluster.local 5 SRV 0 50 5432 db-0.db.default.svc.cluster.local',
        '_pg._tcp.db.default.svc.cluster.local 5 SRV 0 50 5432 10-42-0-6.db.default.svc.cluster.local',
      ],
      additional: [
        'db-0.db.default.svc.cluster.local 5 A 10.42.0.5',
        '10-42-0-6.db.default.svc.cluster.local 5 A 10.42.0.6',
      ],
    },
    {
      name: '5.0.42.10.in-addr.arpa',
      type: 'PTR',
      rcode: 'NOERROR',
      answers: ['5.0.42.10.in-addr.arpa 5 PTR db-0.db.default.svc.cluster.local'],
    },
    { name: 'empty.default.svc.cluster.local', type: 'A', rcode: 'NXDOMAIN', answers: [], authority: [soa] },
    {
      name: 'notready.default.svc.cluster.local',
      type: 'A',
      rcode: 'NOERROR',
      answers: ['notready.default.svc.cluster.local 5 A 10.42.0.9'],
    },
    {
      name: 'ext.default.svc.cluster.local',
      type: 'CNAME',
      rcode: 'NOERROR',
      answers: ['ext.default.svc.cluster.local 5 CNAME www.example.com'],
    },
    {
      name: 'ext.default.svc.cluster.local',
      type: 'A',
      rcode: 'NOERROR',
      answers: ['ext.default.svc.cluster.local 5 CNAME www.example.com'],
    },
    {
      name: 'alias.default.svc.cluster.local',
      type: 'A',
      rcode: 'NOERROR',
      answers: [
        'alias.default.svc.cluster.local 5 CNAME web.default.svc.cluster.local',
        'web.default.svc.cluster.local 5 A 10.43.0.20',
      ],
    },
    {
      name: '10-42-0-5.default.pod.cluster.local',
      type: 'A',
      rcode: 'NOERROR',
      answers: ['10-42-0-5.default.pod.cluster.local 5 A 10.42.0.5'],
    },
    {
      name: 'fd00--5.default.pod.cluster.local',
      type: 'AAAA',
      rcode: 'NOERROR',
      answers: ['fd00--5.default.pod.cluster.local 5 AAAA fd00::5'],
    },
    {
      name: '10-42-0-5.default.pod.cluster.local',
      type: 'AAAA',
      rcode: 'NOERROR',
      answers: [],
      authority: [soa],
    },
    {
      name: '10-42-0-5.nosuchns.pod.cluster.local',
      type: 'A',
      rcode: 'NXDOMAIN',
      answers: [],
      authority: [soa],
    },
    {
      name: 'dns-version.cluster.local',
      type: 'TXT',
      rcode: 'NOERROR',
      answers: ['dns-version.cluster.local TXT 1.1.0'],
    },
    { name: 'cluster.local', type: 'SOA', rcode: 'NOERROR', answers: [soa] },
    {
      name: 'cluster.local',
      type: 'NS',
      rcode: 'NOERROR',
      answers: ['cluster.local 5 NS ns.dns.cluster.local'],
      additional: ['ns.dns.cluster.local 5 A 10.43.0.10'],
    },
    { name: 'cluster.local', type: 'A', rcode: 'NOERROR', answers: [], authority: [soa] },
    { name: 'svc.cluster.local', type: 'A', rcode: 'NOERROR', answers: [], authority: [soa] },
    { name: 'kube-system.svc.cluster.local', type: 'A', rcode: 'NOERROR', answers: [], authority: [soa] },
    { name: 'default.pod.cluster.local', type: 'A', rcode: 'NOERROR', answers: [], authority: [soa] },
    { name: 'nosuchns.svc.cluster.local', type: 'A', rcode: 'NXDOMAIN', answers: [], authority: [soa] },
    { name: 'nosuch.default.svc.cluster.local', type: 'A', rcode: 'NXDOMAIN', answers: [], authority: [soa] },
    { name: 'www.cluster.local', type: 'A', rcode: 'NXDOMAIN', answers: [], authority: [soa] },
  ];
  for (const c of cases)
    it(`${c.name} ${c.type} -> ${c.rcode} ${c.answers.length}`, () => {
      const r = ask(c.name, c.type)!;
      expect(r).toBeDefined();
      expect(r.p.id).toBe(4242);
      expect(r.p.flags & dnsPacket.AUTHORITATIVE_ANSWER).toBeTruthy();
      expect(r.p.flags & dnsPacket.RECURSION_DESIRED).toBeTruthy();
      expect(r.p.rcode).toBe(c.rcode);
      expect(r.p.questions).toEqual([{ name: c.name, type: c.type, class: 'IN' }]);
      expect(r.p.answers!.map(show).sort()).toEqual([...c.answers].sort());
      expect((r.p.authorities ?? []).map(show)).toEqual(c.authority ?? []);
      expect((r.p.additionals ?? []).map(show).sort()).toEqual([...(c.additional ?? [])].sort());
    });

  it('forwards names outside the zone and unknown reverse names (fallthrough)', () => {
    expect(ask('example.com', 'A')).toBeUndefined();
    expect(ask('1.1.168.192.in-addr.arpa', 'PTR')).toBeUndefined();
    expect(ask('local', 'A')).toBeUndefined();
    expect(ask('xcluster.local', 'A')).toBeUndefined();
  });

  it('marks an ExternalName outside the zone for chasing', () => {
    expect(ask('ext.default.svc.cluster.local', 'A')!.a.chase).toBe('www.example.com');
    expect(ask('alias.default.svc.cluster.local', 'A')!.a.chase).toBeUndefined();
  });

  it('adds OPT for EDNS queries and truncates what does not fit (TC)', () => {
    const r = ask('db.default.svc.cluster.local', 'A', { edns: true })!;
    expect(r.p.additionals!.map((a: any) => a.type)).toEqual(['OPT']);
    expect((r.p.additionals![0] as any).udpPayloadSize).toBe(1232);
    const t = ask('_pg._tcp.db.default.svc.cluster.local', 'SRV', { maxSize: 100 })!;
    expect(t.p.flags & dnsPacket.TRUNCATED_RESPONSE).toBeTruthy();
    expect(t.p.answers).toEqual([]);
    expect(t.p.questions![0]!.name).toBe('_pg._tcp.db.default.svc.cluster.local');
  });

  it('keeps the answer records that fit, with TC, when the whole answer does not', () => {
    // header 12 + question 34 + one A record 16 fits; the second does not.
    const t = ask('db.default.svc.cluster.local', 'A', { maxSize: 12 + 34 + 16 + 15 })!;
    expect(t.p.flags & dnsPacket.TRUNCATED_RESPONSE).toBeTruthy();
    expect(t.p.answers!.map((r: any) => r.data)).toEqual(['10.42.0.5']);
    expect([t.p.authorities, t.p.additionals]).toEqual([[], []]);
    const e = ask('db.default.svc.cluster.local', 'A', { maxSize: 12 + 34 + 16 + 11 + 15, edns: true })!;
    expect(e.p.answers!.map((r: any) => r.data)).toEqual(['10.42.0.5']);
    expect(e.p.additionals!.map((r: any) => r.type)).toEqual(['OPT']);
    const all = ask('db.default.svc.cluster.local', 'A', { maxSize: 12 + 34 + 32 })!;
    expect(all.p.flags & dnsPacket.TRUNCATED_RESPONSE).toBeFalsy();
    expect(all.p.answers).toHaveLength(2);
  });

  it('compresses names (owner names point at the question)', () => {
    const r = ask('db.default.svc.cluster.local', 'A')!;
    // header 12 + question (30 + 4) + 2 answers of (2 pointer + 10 fixed + 4 address)
    expect(r.res.length).toBe(12 + 34 + 2 * 16);
  });
});

describe('RecordIndex.update', () => {
  it('writes the serial of the index that answers into shared negative answers', () => {
    const next = index.update(new Map(), { serial: 43 });
    const q = dnsPacket.encode({
      type: 'query',
      id: 1,
      questions: [{ type: 'TXT', name: 'web.default.svc.cluster.local' }],
    });
    const view = new QueryView();
    expect(view.parse(q)).toBe(true);
    const serialOf = (ix: RecordIndex) => {
      const a = ix.lookup(view.key, view.qtype)!;
      const p = dnsPacket.decode(
        renderAnswer(a, q, { qlen: view.qlen, hasOpt: false, maxSize: 512, serial: ix.serial }),
      );
      return (p.authorities![0] as any).data.serial;
    };
    expect([serialOf(index), serialOf(next)]).toEqual([42, 43]);
    // The unchanged name keeps its built answer across versions.
    expect(next.lookup(view.key, view.qtype)).toBe(index.lookup(view.key, view.qtype));
  });

  it('drops a service unit: its names go, empty non-terminals it alone held go with them', () => {
    const svc = {
      metadata: { name: 'solo', namespace: 'lonely' },
      spec: { clusterIP: '10.43.9.9', ports: [{ name: 'x', port: 1 }] },
    };
    const one = index.update(
      new Map([
        [
          'svc/lonely/solo',
          {
            records: buildRecords(
              { services: [svc], slices: [], namespaces: [] },
              { zone: 'cluster.local', ttl: 5 },
            ).records.filter((r) => r.name.includes('solo') || r.type === 12),
            emptyNames: [],
          },
        ],
      ]),
      { serial: 50 },
    );
    expect(one.records('solo.lonely.svc.cluster.local', 1).map((r) => r.data)).toEqual(['10.43.9.9']);
    expect(one.names()).toContain(nameKey('lonely.svc.cluster.local'));
    const gone = one.update(new Map([['svc/lonely/solo', undefined]]), { serial: 51 });
    expect(gone.names().sort()).toEqual(index.names().sort());
    expect(gone.lookup(nameKey('lonely.svc.cluster.local'), 1)?.rcode).toBe(3);
  });
});
