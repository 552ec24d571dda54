// The stream to a compute node's sshd through its login node's one SSH
// connection, without TCP forwarding (which such sites forbid on the login
// node): a relay on the login node as the command of one channel. The session
// to the node runs over it end to end, its host key checked like any host's.
import type { Duplex } from 'node:stream';
import { KtrayError } from '../../shared/errors';
import RELAY_PY from '../kernels/scripts/node-relay.py';
import { quote } from '../util/shell-quote';
import type { SshSession } from './ssh-session';

const DIR = '"$HOME/.cache/ktray"';
const FILE = `${DIR}/node-relay.py`;
const READY = 'ktray-relay: connected';

/** Puts the relay on the login node (once per session), then opens a channel running it to node:port. */
export async function relayThrough(login: SshSession, node: string, port: number, opts: { python?: string } = {}): Promise<Duplex> {
  const put = await login.run(`umask 077 && mkdir -p ${DIR} && cat > ${FILE}.tmp <<'KTRAY_RELAY_EOF' && mv -f ${FILE}.tmp ${FILE}\n${RELAY_PY.trimEnd()}\nKTRAY_RELAY_EOF\n`, { timeoutMs: 30_000 });
  if (put.code !== 0) {
    throw new KtrayError({ code: 'REMOTE_COMMAND_FAILED', host: login.id, message: `Could not put the node relay on ${login.id}: ${put.stderr.trim() || `exit ${put.code}`}.` });
  }
  // The channel's command goes through the user's login shell: plain words only.
  const ch = await login.execStream(`${quote(opts.python ?? 'python3')} ${FILE} ${quote(node)} ${port}`);
  return new Promise<Duplex>((resolve, reject) => {
    let err = '';
    const fail = () =>
      reject(
        new KtrayError({
          code: 'HOST_UNREACHABLE',
          host: login.id,
          message: `${login.id} could not relay to the compute node ${node}:${port}: ${err.trim().replace(/^ktray-relay: /, '') || 'the relay ended'}.`,
          hint: `The node needs an sshd the login node reaches (\`ssh ${node}\` on ${login.id}), and python3 on ${login.id}.`,
        }),
      );
    const onErr = (d: Buffer) => {
      err += d.toString('utf8');
      if (err.includes(READY)) {
        ch.stderr.off('data', onErr);
        ch.off('close', fail);
        ch.stderr.resume();
        resolve(ch);
      }
    };
    ch.stderr.on('data', onErr);
    ch.once('close', fail);
  });
}
