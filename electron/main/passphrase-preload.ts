// Preload of the passphrase prompt: fills the page from its query and sends
// back exactly one answer. The page itself runs no script (its CSP allows none).
import { ipcRenderer } from 'electron';
import { PASSPHRASE_CHANNEL, type PassphraseAnswer } from './passphrase-shared';

function answer(a: PassphraseAnswer): void {
  ipcRenderer.send(PASSPHRASE_CHANNEL, a);
}

window.addEventListener('DOMContentLoaded', () => {
  const q = new URLSearchParams(window.location.search);
  const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
  byId('host').textContent = q.get('host') ?? '';
  byId('key').textContent = q.get('keyFile') ?? '';
  const remember = byId<HTMLInputElement>('remember');
  const kind = q.get('kind');
  if (kind) {
    // A password or a server's prompt: its words as text, nothing to remember (a code is used once).
    const host = q.get('host') ?? '';
    const prompt = (q.get('prompt') ?? '').trim();
    byId('heading').textContent = kind === 'password' ? `Password for ${host}` : (q.get('name') ?? '').trim() || `${host} asks`;
    byId('lead').textContent = kind === 'password' ? `${host} asks for your password.` : `The SSH server of ${host} asks:`;
    byId('question').textContent = prompt;
    byId('question').hidden = !prompt;
    const input = byId<HTMLInputElement>('passphrase');
    input.setAttribute('aria-label', prompt || 'Answer');
    if (q.get('echo') === '1') input.type = 'text';
    // Only a password the agent may keep (never a code): the agent decided, and said so in `keep`.
    if (!q.get('keep') && !q.get('cannotRemember')) {
      byId('remember-row').hidden = true;
      remember.disabled = true;
    }
    byId('ok').textContent = 'Send';
  }
  // The server's own words, or why this is asked again (a refused answer): as text, never markup.
  const instructions = (q.get('instructions') ?? '').trim();
  if (instructions) {
    byId('instructions').textContent = instructions;
    byId('instructions').hidden = false;
  }
  const keychain = q.get('keep');
  if (keychain) byId('remember-row').lastChild!.textContent = ` Keep in ${keychain}`;
  const why = q.get('cannotRemember');
  if (why) {
    remember.disabled = true;
    byId('why').textContent = `Cannot remember it here: ${why}`;
    byId('why').hidden = false;
  }
  byId<HTMLFormElement>('form').addEventListener('submit', (e) => {
    e.preventDefault();
    answer({ passphrase: byId<HTMLInputElement>('passphrase').value, remember: remember.checked && !remember.disabled });
  });
  byId('cancel').addEventListener('click', () => answer({ passphrase: null, remember: false }));
  window.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') answer({ passphrase: null, remember: false });
  });
});
