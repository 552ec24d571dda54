// What the window may load, open and be sent from. Pure rules; window.ts and
// ipc.ts wire them to Electron.

/** Where the renderer page comes from: the built file, or a dev server in development. */
export type RendererLocation = { kind: 'file'; url: string } | { kind: 'dev'; url: string };

function parse(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

/** The URL is our renderer page (any hash or query), nothing else. */
export function isRendererUrl(url: string, loc: RendererLocation): boolean {
  const u = parse(url);
  const ours = parse(loc.url);
  if (!u || !ours) return false;
  if (loc.kind === 'dev') return u.origin === ours.origin && u.origin !== 'null';
  return u.protocol === 'file:' && ours.protocol === 'file:' && u.pathname === ours.pathname && u.host === ours.host;
}

export type NavigationDecision = 'allow' | 'deny' | 'open-external';

/** Links to the web open in the browser; anything else that is not our page is refused. */
export function externalDecision(url: string): NavigationDecision {
  const u = parse(url);
  return u && u.protocol === 'https:' ? 'open-external' : 'deny';
}

/** For will-navigate / will-redirect: only the renderer page itself (a hash change, a reload). */
export function navigationDecision(url: string, loc: RendererLocation): NavigationDecision {
  return isRendererUrl(url, loc) ? 'allow' : externalDecision(url);
}

/** For window.open and target=_blank: never a new Electron window. */
export function windowOpenDecision(url: string): Exclude<NavigationDecision, 'allow'> {
  return externalDecision(url) === 'open-external' ? 'open-external' : 'deny';
}

/**
 * The header twin of the page's CSP meta tag. The dev server needs its
 * origin for modules and its websocket for hot reload; the built page needs
 * nothing from outside.
 */
export function contentSecurityPolicy(loc: RendererLocation): string {
  const dev = loc.kind === 'dev' ? parse(loc.url) : null;
  const devOrigin = dev ? dev.origin : '';
  const devWs = dev ? `${dev.protocol === 'https:' ? 'wss' : 'ws'}://${dev.host}` : '';
  const rules = [
    "default-src 'none'",
    dev ? `script-src 'self' 'unsafe-inline' ${devOrigin}` : "script-src 'self'",
    // Vite's dev server injects CSS through <style> tags; the built page links files.
    dev ? "style-src 'self' 'unsafe-inline'" : "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    dev ? `connect-src 'self' ${devOrigin} ${devWs}` : "connect-src 'none'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ];
  return rules.join('; ');
}

/** Which hash the window opens with to show one kernel or host. */
export function focusHash(target: { kernelId?: string; host: string; view?: 'plots' } | null): string {
  if (!target) return '';
  if ('kernelId' in target && target.kernelId && target.view === 'plots') return `plots=${encodeURIComponent(target.kernelId)}`;
  return 'kernelId' in target && target.kernelId
    ? `kernel=${encodeURIComponent(target.kernelId)}`
    : `host=${encodeURIComponent(target.host)}`;
}

export interface SenderFacts {
  webContentsId: number;
  frameUrl: string | null;
  isMainFrame: boolean;
}

/** An IPC message counts only from the main frame of our window showing our page. */
export function isTrustedSender(s: SenderFacts, ours: { webContentsId: number | null; location: RendererLocation }): boolean {
  return (
    ours.webContentsId !== null &&
    s.webContentsId === ours.webContentsId &&
    s.isMainFrame &&
    s.frameUrl !== null &&
    isRendererUrl(s.frameUrl, ours.location)
  );
}
