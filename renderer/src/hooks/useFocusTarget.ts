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
      el.classList.add('focus-target');
      window.setTimeout(() => el.classList.remove('focus-target'), 2500);
    };
    focus();
    window.addEventListener('hashchange', focus);
    return () => window.removeEventListener('hashchange', focus);
  }, [loaded]);
}
