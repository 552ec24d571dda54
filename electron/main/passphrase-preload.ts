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
