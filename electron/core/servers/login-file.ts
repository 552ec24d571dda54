// The page that logs a browser in to a tunnelled Jupyter server. It holds the
// server's token, so it is a 0600 file in a 0700 folder of KTRAY_HOME, and the
// browser is started on its path: the token is in no process's argv (what
// `jupyter notebook` does with its *-open.html, minus the world-readable mode
// those files often have). It goes when the tunnel closes or the server stops.
import { chmod, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ensurePrivateDir } from '../util/paths';
import { loginUrl } from './server-ops';

export function loginFilePath(home: string, id: string): string {
  return path.join(home, 'servers', `login-${id.replace(/[^A-Za-z0-9._-]/g, '_')}.html`);
}

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function loginPage(id: string, url: string): string {
  const attr = escapeHtml(url);
  // JSON in a script: `<` escaped so no `</script>` can end it early.
  const js = JSON.stringify(url).replace(/</g, '\\u003c');
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="referrer" content="no-referrer">',
    `<meta http-equiv="refresh" content="0;url=${attr}">`,
    `<title>Opening ${escapeHtml(id)}</title>`,
    `<script>location.replace(${js});</script>`,
    '</head>',
    `<body><p>Opening the Jupyter server ${escapeHtml(id)}… <a href="${attr}">Continue</a></p></body>`,
    '</html>',
    '',
  ].join('\n');
}

export async function writeLoginFile(home: string, id: string, localBase: string, landing: string, token: string): Promise<string> {
  const file = loginFilePath(home, id);
  await ensurePrivateDir(path.dirname(file));
  await chmod(path.dirname(file), 0o700);
  await writeFile(file, loginPage(id, loginUrl(localBase, landing, token)), { mode: 0o600 });
  // writeFile's mode applies only to new files.
  await chmod(file, 0o600);
  return file;
}

export async function removeLoginFile(home: string, id: string): Promise<void> {
  await rm(loginFilePath(home, id), { force: true });
}
