/**
 * Which streaming protocol a request asks for, decided as the kubelet (and client-go's httpstream)
 * decides: an HTTP Upgrade to `websocket` picks a subprotocol from Sec-WebSocket-Protocol, an
 * Upgrade to `SPDY/3.1` picks a version from X-Stream-Protocol-Version; in both the client's order
 * wins (the first protocol it lists that the server supports). Pure.
 */
import type { IncomingHttpHeaders } from 'node:http';

export const SPDY_UPGRADE = 'SPDY/3.1';
/** WebSocket subprotocol prefix of SPDY tunnelled over WebSocket (kubectl >= 1.31 port-forward). */
export const SPDY_TUNNEL_PREFIX = 'SPDY/3.1+';
export const PORT_FORWARD_PROTOCOL_V1 = 'portforward.k8s.io';
/**
 * Exec/attach versions served over SPDY: v4, as the kubelet (v5 exists for WebSocket's close
 * signal; kubectl >= 1.30 offers it over SPDY too and settles on v4 with an upstream kubelet).
 */
export const SPDY_EXEC_PROTOCOLS = ['v4.channel.k8s.io'];

export type UpgradeKind = 'websocket' | 'spdy';

/** Splits a header that may repeat and may hold comma-separated lists. */
export function headerList(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  const all = Array.isArray(value) ? value : [value];
  return all
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/** The upgrade a request asks for, or undefined for a plain request. */
export function upgradeKind(headers: IncomingHttpHeaders): UpgradeKind | undefined {
  const connection = headerList(headers.connection).map((t) => t.toLowerCase());
  if (!connection.includes('upgrade')) return undefined;
  const upgrade = headerList(headers.upgrade).map((t) => t.toLowerCase());
  if (upgrade.includes('websocket')) return 'websocket';
  if (upgrade.includes(SPDY_UPGRADE.toLowerCase())) return 'spdy';
  return undefined;
}

/** The first of the client's protocols the server supports, or undefined. */
export function negotiate(client: readonly string[], server: readonly string[]): string | undefined {
  return client.find((p) => server.includes(p));
}

/** The upstream error text when nothing matches. */
export function negotiationFailure(client: readonly string[], server: readonly string[]): string {
  return `unable to upgrade: unable to negotiate protocol: client supports [${client.join(' ')}], server accepts [${server.join(' ')}]`;
}
