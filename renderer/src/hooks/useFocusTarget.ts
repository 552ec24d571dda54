import { useEffect } from 'react';

/**
 * The tray opens the window at `#kernel=ID` or `#host=ID` (a notification was
 * clicked): bring that row into view and give it focus once it is rendered.
 */
export function useFocusTarget(loaded: boolean): void {
  useEffect(() => {
    if (!loaded) return;
    const focus = () => {
      const m = /^#(kernel|host)=(.+)$/.exec(window.location.hash);
      if (!m) return;
      const id = decodeURIComponent(m[2]);
      const el = document.querySelector<HTMLElement>(`[data-${m[1]}-id="${CSS.escape(id)}"]`);
      if (!el) return;
      el.tabIndex = -1;
      el.scrollIntoView({ block: 'nearest' });
      el.focus();
      // An attribute React does not render, so a re-render (a state event) cannot wipe it as it would a class.
      el.setAttribute('data-focus-target', '');
      window.setTimeout(() => el.removeAttribute('data-focus-target'), 2500);
    };
    focus();
    window.addEventListener('hashchange', focus);
    return () => window.removeEventListener('hashchange', focus);
  }, [loaded]);
}

/** `#plots=KERNEL`: the tray or a plot notification asks for that kernel's plots. */
export function usePlotsTarget(loaded: boolean, open: (kernel: string) => void): void {
  useEffect(() => {
    if (!loaded) return;
    const check = () => {
      const m = /^#plots=(.+)$/.exec(window.location.hash);
      if (m) open(decodeURIComponent(m[1]!));
    };
    check();
    window.addEventListener('hashchange', check);
    return () => window.removeEventListener('hashchange', check);
    // `open` is a fresh closure each render; the hash is what matters.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [loaded]);
}
