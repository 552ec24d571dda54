// The server table alone: what each intent does to the summaries, which events
// it emits (it is the only emitter of server events), and that the token it
// holds never leaves it in a summary or an event.
import { describe, expect, it } from 'vitest';
import type { AgentEvent } from '../../shared/types';
import type { ServerInfo } from '../servers/server-file';
import type { FoundServer } from '../servers/server-ops';
import { EventBus } from './event-bus';
import { ServerTable } from './server-table';

const TOKEN = 'f00dfeed'.repeat(6);
const INFO: ServerInfo = { app: 'notebook', pid: 77, url: `http://localhost:8887/?token=${TOKEN}`, hostname: 'localhost', port: 8887, sock: '', baseUrl: '/', secure: false, token: TOKEN, password: false, rootDir: '/home/ada/proj', version: null };

function found(name: string, over: Partial<FoundServer> = {}): FoundServer {
  return {
    name,
    file: `/rt/${name}.json`,
    info: INFO,
    pid: 77,
    processStart: '123',
    alive: true,
    startedAt: 1000,
    command: 'python3 /usr/bin/jupyter-notebook --no-browser --port=8887',
    place: { endpoint: { kind: 'tcp', address: '127.0.0.1', port: 8887 }, target: { kind: 'tcp', host: '127.0.0.1', port: 8887 }, listens: 'loopback' },
    warnings: [],
    ...over,
  };
}

function setup() {
  const events = new EventBus();
  const seen: AgentEvent[] = [];
  events.on((e) => seen.push(e));
  const table = new ServerTable({ events, startedHere: (id) => id === 'h/jpserver-9' });
  return { table, seen };
}

describe('ServerTable', () => {
  it('adds what a listing found, with its kernels, and drops servers whose files are gone', () => {
    const { table, seen } = setup();
    table.listed('h', [found('nbserver-77'), found('jpserver-9', { info: { ...INFO, app: 'jupyter-server', version: '1.23.3' } })], new Map([['nbserver-77', ['h/k1']]]), () => false);
    expect(table.summaries('h').map((s) => [s.id, s.app, s.kernels, s.startedByKtray])).toEqual([
      ['h/jpserver-9', 'jupyter-server', [], true],
      ['h/nbserver-77', 'notebook', ['h/k1'], false],
    ]);
    expect(table.get('h/nbserver-77')).toMatchObject({ remoteUrl: 'http://localhost:8887/', auth: 'token', rootDir: '/home/ada/proj' });
    expect(table.listed('h', [found('nbserver-77')], new Map(), () => false)).toEqual({ removed: ['h/jpserver-9'] });
    expect(seen.filter((e) => e.type === 'servers-changed')).toHaveLength(2);
  });

  it('keeps a tunnelled server whose file went, as dead; others go', () => {
    const { table } = setup();
    table.listed('h', [found('nbserver-77')], new Map([['nbserver-77', ['h/k1']]]), () => false);
    table.tunnelled('h/nbserver-77', { port: 50123 });
    table.listed('h', [], new Map(), (id) => id === 'h/nbserver-77');
    expect(table.get('h/nbserver-77')).toMatchObject({ alive: false, tunnelled: true, kernels: [] });
  });

  it('says where it is tunnelled, and forgets it when untunnelled or stopped', () => {
    const { table, seen } = setup();
    table.listed('h', [found('nbserver-77', { info: { ...INFO, baseUrl: '/base/' } })], new Map(), () => false);
    table.tunnelled('h/nbserver-77', { port: 50123 });
    expect(table.get('h/nbserver-77')).toMatchObject({ tunnelled: true, localPort: 50123, localUrl: 'http://127.0.0.1:50123/base/' });
    // A listing does not forget the tunnel.
    table.listed('h', [found('nbserver-77', { info: { ...INFO, baseUrl: '/base/' } })], new Map(), () => true);
    expect(table.get('h/nbserver-77')?.localPort).toBe(50123);
    table.untunnelled('h/nbserver-77');
    expect(table.get('h/nbserver-77')).toMatchObject({ tunnelled: false, localPort: null, localUrl: null });
    expect(seen.filter((e) => e.type === 'server-state').map((e) => (e as Extract<AgentEvent, { type: 'server-state' }>).server.tunnelled)).toEqual([true, false]);
    expect(table.stopped('h/nbserver-77')).toMatchObject({ alive: false, tunnelled: false });
    expect(table.has('h/nbserver-77')).toBe(false);
    expect(() => table.require('h/nbserver-77')).toThrow(expect.objectContaining({ code: 'SERVER_NOT_FOUND', hint: expect.stringContaining('ktray servers h') }));
  });

  it('holds the token for the agent, and puts it in no summary and no event', () => {
    const { table, seen } = setup();
    table.listed('h', [found('nbserver-77')], new Map(), () => false);
    table.tunnelled('h/nbserver-77', { port: 50123 });
    table.started('h', found('jpserver-9'));
    expect(table.secret('h/nbserver-77').info.token).toBe(TOKEN);
    expect(JSON.stringify(table.summaries())).not.toContain(TOKEN);
    expect(JSON.stringify(seen)).not.toContain(TOKEN);
    expect(seen.length).toBeGreaterThan(2);
  });

  it('hands out copies: a face cannot change the table', () => {
    const { table } = setup();
    table.listed('h', [found('nbserver-77')], new Map([['nbserver-77', ['h/k1']]]), () => false);
    const s = table.get('h/nbserver-77')!;
    s.kernels.push('h/evil');
    s.alive = false;
    expect(table.get('h/nbserver-77')).toMatchObject({ alive: true, kernels: ['h/k1'] });
  });
});
