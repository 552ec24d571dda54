import { describe, expect, it } from 'vitest';
import {
  contentSecurityPolicy,
  focusHash,
  isRendererUrl,
  isTrustedSender,
  navigationDecision,
  windowOpenDecision,
  type RendererLocation,
} from './navigation-policy';

const file: RendererLocation = { kind: 'file', url: 'file:///opt/kt/resources/app.asar/dist/renderer/index.html' };
const dev: RendererLocation = { kind: 'dev', url: 'http://localhost:5173/' };

describe('navigation policy', () => {
  it('knows our page with any hash or query, and nothing else', () => {
    expect(isRendererUrl(`${file.url}#kernel=gpu%2Fa`, file)).toBe(true);
    expect(isRendererUrl(`${file.url}?x=1`, file)).toBe(true);
    expect(isRendererUrl('file:///opt/kt/resources/app.asar/dist/renderer/other.html', file)).toBe(false);
    expect(isRendererUrl('file:///etc/passwd', file)).toBe(false);
    expect(isRendererUrl('http://localhost:5173/src/App.tsx', dev)).toBe(true);
    expect(isRendererUrl('http://localhost:5174/', dev)).toBe(false);
    expect(isRendererUrl('http://localhost:5173/', file)).toBe(false);
    expect(isRendererUrl('not a url', file)).toBe(false);
  });

  it('lets the page change its own hash, opens https links in the browser, refuses the rest', () => {
    expect(navigationDecision(`${file.url}#host=gpu`, file)).toBe('allow');
    expect(navigationDecision('https://jupyter.org/', file)).toBe('open-external');
    expect(navigationDecision('http://example.com/', file)).toBe('deny');
    expect(navigationDecision('file:///home/ada/.ssh/id_ed25519', file)).toBe('deny');
    expect(navigationDecision('javascript:alert(1)', file)).toBe('deny');
    expect(navigationDecision('data:text/html,<script>1</script>', file)).toBe('deny');
  });

  it('never opens a new Electron window', () => {
    expect(windowOpenDecision('https://github.com/')).toBe('open-external');
    expect(windowOpenDecision(file.url)).toBe('deny');
    expect(windowOpenDecision('about:blank')).toBe('deny');
  });

  it('has a CSP with no inline script and no network for the built page', () => {
    const csp = contentSecurityPolicy(file);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain("connect-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
    const devCsp = contentSecurityPolicy(dev);
    expect(devCsp).toContain('connect-src \'self\' http://localhost:5173 ws://localhost:5173');
  });

  it('encodes the focus target in the hash', () => {
    expect(focusHash({ kernelId: 'gpu/train 1', host: 'gpu' })).toBe('kernel=gpu%2Ftrain%201');
    expect(focusHash({ host: 'gpu' })).toBe('host=gpu');
    expect(focusHash({ kernelId: 'gpu/train 1', host: 'gpu', view: 'plots' })).toBe('plots=gpu%2Ftrain%201');
    expect(focusHash(null)).toBe('');
  });

  it('trusts only the main frame of our window showing our page', () => {
    const ours = { webContentsId: 7, location: file };
    const good = { webContentsId: 7, frameUrl: `${file.url}#x`, isMainFrame: true };
    expect(isTrustedSender(good, ours)).toBe(true);
    expect(isTrustedSender({ ...good, webContentsId: 8 }, ours)).toBe(false);
    expect(isTrustedSender({ ...good, isMainFrame: false }, ours)).toBe(false);
    expect(isTrustedSender({ ...good, frameUrl: 'https://evil.example/' }, ours)).toBe(false);
    expect(isTrustedSender({ ...good, frameUrl: null }, ours)).toBe(false);
    expect(isTrustedSender(good, { ...ours, webContentsId: null })).toBe(false);
  });
});
