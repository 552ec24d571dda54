// The pure parts of servers: addresses as /proc prints them, where a server
// listens and whether the network can reach it, the HTTP answer, the login page.
import { describe, expect, it } from 'vitest';
import { procAddress, type Discovery } from '../kernels/discovery';
import { loginPage } from './login-file';
import { parseAnswer, parseSessions } from './server-http';
import { serverPlace, urlWithoutToken, type ServerInfo } from './server-file';
import { loginUrl, othersCanRead } from './server-ops';

const INFO: ServerInfo = { app: 'notebook', pid: 10, url: 'http://localhost:8887/', hostname: 'localhost', port: 8887, sock: '', baseUrl: '/', secure: false, token: 't', password: false, rootDir: '/w', version: null };

function discovery(tcp: Array<{ address: string; port: number; inode: string }>, held: string[]): Discovery {
  return { now: 0, home: '/h', files: [], servers: [], processes: [], queue: null, procfs: { details: new Map(), sockets: new Map([[10, new Set(held)]]), tcp, unix: [] } };
}

describe('procAddress', () => {
  it.each([
    ['0100007F', '127.0.0.1'],
    ['00000000', '0.0.0.0'],
    ['0101A8C0', '192.168.1.1'],
    ['00000000000000000000000000000000', '::'],
    ['00000000000000000000000001000000', '::1'],
    ['0000000000000000FFFF00000100007F', '::ffff:127.0.0.1'],
    ['B80D0120000000000000000001000000', '2001:db8::1'],
  ])('%s is %s', (hex, address) => {
    expect(procAddress(hex)).toBe(address);
  });
});

describe('serverPlace: where it listens, where a forward goes', () => {
  it('takes the addresses its process holds from /proc: loopback only is not exposed', () => {
    const p = serverPlace(INFO, discovery([{ address: '127.0.0.1', port: 8887, inode: '1' }, { address: '::1', port: 8887, inode: '2' }], ['1', '2']), 10);
    expect(p).toEqual({ endpoint: { kind: 'tcp', address: '127.0.0.1', port: 8887 }, target: { kind: 'tcp', host: '127.0.0.1', port: 8887 }, listens: 'loopback' });
  });

  it('flags all interfaces as exposed and forwards through loopback', () => {
    const p = serverPlace({ ...INFO, hostname: 'localhost' }, discovery([{ address: '0.0.0.0', port: 8887, inode: '1' }], ['1']), 10);
    expect(p).toEqual({ endpoint: { kind: 'tcp', address: '0.0.0.0', port: 8887 }, target: { kind: 'tcp', host: '127.0.0.1', port: 8887 }, listens: 'all-interfaces' });
  });

  it('does not forward to a server bound only to another address', () => {
    const p = serverPlace(INFO, discovery([{ address: '10.99.0.1', port: 8887, inode: '1' }], ['1']), 10);
    expect(p).toMatchObject({ target: null, listens: 'other-address', endpoint: { address: '10.99.0.1' } });
  });

  it("ignores another process's socket on the same port, and falls back to the file without /proc", () => {
    const other = serverPlace(INFO, discovery([{ address: '0.0.0.0', port: 8887, inode: '9' }], ['1']), 10);
    expect(other).toMatchObject({ listens: 'loopback', endpoint: { address: 'localhost' } });
    const noProc = { ...discovery([], []), procfs: null };
    expect(serverPlace({ ...INFO, hostname: '0.0.0.0' }, noProc, 10)).toMatchObject({ listens: 'all-interfaces', target: { host: '127.0.0.1' } });
    expect(serverPlace({ ...INFO, hostname: '::1' }, noProc, 10)).toMatchObject({ listens: 'loopback', target: { host: '::1' } });
  });

  it('forwards a unix-socket server to its socket', () => {
    expect(serverPlace({ ...INFO, port: 0, sock: '/rt/s.sock' }, discovery([], []), 10)).toEqual({ endpoint: { kind: 'unix', path: '/rt/s.sock' }, target: { kind: 'unix', path: '/rt/s.sock' }, listens: 'ipc' });
  });

  it('goes in through ::1 when the server listens on IPv6 only', () => {
    expect(serverPlace(INFO, discovery([{ address: '::', port: 8887, inode: '1' }], ['1']), 10)).toMatchObject({ listens: 'all-interfaces', target: { host: '::1' } });
  });
});

describe('tokens stay out of what is shown', () => {
  it('strips a token from a URL', () => {
    expect(urlWithoutToken('http://localhost:8888/?token=abc')).toBe('http://localhost:8888/');
    expect(urlWithoutToken('http://localhost:8888/lab?foo=1&token=abc')).toBe('http://localhost:8888/lab?foo=1');
    expect(urlWithoutToken('http://localhost:8888/')).toBe('http://localhost:8888/');
  });

  it('writes a login page whose URL cannot break out of its attribute or script', () => {
    const url = loginUrl('http://127.0.0.1:5000/', '/tree', 'a"b</script><x>');
    const page = loginPage('h/nbserver-1', url);
    expect(url).toBe('http://127.0.0.1:5000/tree?token=a%22b%3C%2Fscript%3E%3Cx%3E');
    expect(page).toContain(`<meta http-equiv="refresh" content="0;url=${url}">`);
    expect(page).toContain(`<script>location.replace(${JSON.stringify(url)});</script>`);
    expect(page).toContain('<meta name="referrer" content="no-referrer">');
    const evil = loginPage('h/<b>', 'http://x/?a="</script>');
    expect(evil).not.toContain('"</script>');
    expect(evil).toContain('&lt;b&gt;');
  });

  it('tells when other users can read a file: a read bit and the folder opened to them', () => {
    expect(othersCanRead(0o644, 0o755)).toBe(true);
    expect(othersCanRead(0o644, 0o700)).toBe(false);
    expect(othersCanRead(0o640, 0o750)).toBe(true);
    expect(othersCanRead(0o600, 0o777)).toBe(false);
    expect(othersCanRead(null, 0o777)).toBe(false);
  });
});

describe('HTTP answers', () => {
  it('parses status, headers and body, and says when there is no answer', () => {
    expect(parseAnswer('HTTP/1.1 302 Found\r\nLocation: /tree?\r\nContent-Length: 0\r\n\r\n')).toEqual({ status: 302, headers: { location: '/tree?', 'content-length': '0' }, body: '' });
    expect(parseAnswer('HTTP/1.0 200 OK\r\n\r\n{"a": 1}').body).toBe('{"a": 1}');
    expect(() => parseAnswer('')).toThrow(/closed the connection without answering/);
    expect(() => parseAnswer('SSH-2.0-OpenSSH')).toThrow(/not HTTP/);
  });

  it('reads sessions from both the current and the Notebook 5 shape', () => {
    expect(parseSessions(JSON.stringify([{ path: 'a.ipynb', type: 'notebook', kernel: { id: 'k1' } }, { notebook: { path: 'old.ipynb' }, kernel: { id: 'k2' } }, { kernel: {} }]))).toEqual([
      { kernelId: 'k1', path: 'a.ipynb', type: 'notebook' },
      { kernelId: 'k2', path: 'old.ipynb', type: 'notebook' },
    ]);
    expect(() => parseSessions('{}')).toThrow(/did not answer a list/);
  });
});
