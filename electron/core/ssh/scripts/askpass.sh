#!/bin/sh
# Kernel Tray's SSH_ASKPASS for the master of the OpenSSH transport. ssh runs it
# as `askpass PROMPT` (SSH_ASKPASS_PROMPT=confirm for a yes/no question, none for
# a notice such as "touch your security key") and reads the answer from its
# stdout, a pipe of ssh's own. The question goes to the Kernel Tray agent over
# its unix socket (KTRAY_ASKPASS_SOCKET, 0600 in a 0700 folder of the agent's),
# which asks it on the user's terminal or in the app's prompt window. What is
# typed passes only through that socket and this pipe: never an argv, the
# environment, a log or a file. (ssh closes every inherited descriptor above 2
# at its start, so a socket is the way back to the agent.)
ELECTRON_RUN_AS_NODE=1 exec "$KTRAY_ASKPASS_NODE" - "$@" <<'KTRAY_ASKPASS_JS'
const net = require('net');
const sock = net.createConnection(process.env.KTRAY_ASKPASS_SOCKET || '');
let got = '';
let done = false;
const finish = (answer) => {
  if (done) return;
  done = true;
  sock.destroy();
  if (typeof answer !== 'string') process.exit(1);
  process.stdout.write(answer + '\n', () => process.exit(0));
};
sock.setEncoding('utf8');
sock.on('connect', () => sock.write(JSON.stringify({ prompt: process.argv[2] || '', hint: process.env.SSH_ASKPASS_PROMPT || '' }) + '\n'));
sock.on('data', (d) => {
  got += d;
  const nl = got.indexOf('\n');
  if (nl < 0) return;
  let reply = null;
  try {
    reply = JSON.parse(got.slice(0, nl));
  } catch {}
  finish(reply && reply.answer);
});
sock.on('error', () => finish(null));
sock.on('close', () => finish(null));
KTRAY_ASKPASS_JS
