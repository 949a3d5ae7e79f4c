/**
 * The pages the data plane answers itself (404, 403, 413, 502, 503, 504, ...): nginx's shape,
 * plus one line saying what happened (which Ingress / Service, and why) so a user reading a
 * 503 in a browser knows where to look.
 */
import { STATUS_CODES } from 'node:http';

const TITLES: Record<number, string> = {
  503: 'Service Temporarily Unavailable',
  504: 'Gateway Time-out',
  413: 'Request Entity Too Large',
  431: 'Request Header Or Cookie Too Large',
};

const escapeHtml = (s: string): string => s.replace(/[&<>]/g, (c) => `&#${c.charCodeAt(0)};`);

/** The status line text of `status` as nginx prints it. */
export function statusText(status: number): string {
  return TITLES[status] ?? STATUS_CODES[status] ?? 'Unknown';
}

/** An HTML error page naming the status and the reason. */
export function errorPage(status: number, reason: string): string {
  const title = `${status} ${statusText(status)}`;
  return (
    `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n` +
    `<center>${escapeHtml(reason)}</center>\r\n<hr><center>k8ts ingress</center>\r\n</body>\r\n</html>\r\n`
  );
}
