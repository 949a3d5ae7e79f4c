import { describe, expect, it } from 'vitest';
import { ApiStatusError } from '../core/client/rest-client.js';
import { agentErrorMessage } from './agent-command.js';
import { JoinError } from './errors.js';

const errno = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('agentErrorMessage', () => {
  const cases: Array<[string, unknown, string | RegExp | undefined]> = [
    [
      'join errors as they are',
      new JoinError('TOKEN_REFUSED', 'the join token was refused'),
      'the join token was refused',
    ],
    ['API errors by their Status message', new ApiStatusError(403, { message: 'nope' }, ''), 'nope'],
    [
      'a certificate without the address: name the flag',
      errno('ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames"),
      /does not name 10\.0\.0\.9: .*start the server with --tls-san 10\.0\.0\.9/,
    ],
    [
      'connection refused',
      errno('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.9:6443'),
      /cannot talk to the server https:\/\/10\.0\.0\.9:6443: connect ECONNREFUSED/,
    ],
    ['a bug keeps its stack', new TypeError('x is undefined'), undefined],
  ];
  it.each(cases)('%s', (_name, e, want) => {
    const got = agentErrorMessage(e, 'https://10.0.0.9:6443');
    if (want === undefined) expect(got).toBeUndefined();
    else if (typeof want === 'string') expect(got).toBe(want);
    else expect(got).toMatch(want);
  });
});
