import type { MenuItemConstructorOptions } from 'electron';
import { describe, expect, it } from 'vitest';
import type { AgentSnapshot } from './agent-state';
import { buildMenuTemplate, kernelIsLive, type MenuContext, type MenuIntents } from './menu';
import { ALL_NOTIFICATIONS_ON } from './notifications';
import { T0, host, kernel, server } from './test/fixtures';

type Item = MenuItemConstructorOptions;

function recorder() {
  const calls: Array<[string, ...unknown[]]> = [];
  const rec =
    (name: string) =>
    (...args: unknown[]) => {
      calls.push([name, ...args]);
    };
  const intents: MenuIntents = {
    attach: rec('attach'),
    copyConnectionFile: rec('copyConnectionFile'),
    openPlots: rec('openPlots'),
    interrupt: rec('interrupt'),
    restart: rec('restart'),
    stop: rec('stop'),
    startKernel: rec('startKernel'),
    startServer: rec('startServer'),
    openServer: rec('openServer'),
    copyServerUrl: rec('copyServerUrl'),
    closeServer: rec('closeServer'),
    stopServer: rec('stopServer'),
    reconnect: rec('reconnect'),
    openWindow: rec('openWindow'),
    setStartAtLogin: rec('setStartAtLogin'),
    setNotification: rec('setNotification'),
    setPreferredFrontend: rec('setPreferredFrontend'),
    retryAgent: rec('retryAgent'),
    quit: rec('quit'),
  };
  return { calls, intents };
}

const snapshot: AgentSnapshot = {
  hosts: [host('gpu', { kernelCount: 2 }), host('local'), host('lab', { connection: 'lost', since: T0 - 60_000 })],
  kernels: [
    kernel('gpu', 'train', { state: 'busy', busySince: T0 - 3 * 60_000, attached: true, localConnectionFile: '/l/gpu-train.json' }),
    kernel('gpu', 'old', { state: 'dead', alive: false }),
    kernel('lab', 'x', { state: 'unknown' }),
  ],
  servers: [],
  error: null,
};

function ctx(over: Partial<MenuContext> = {}): MenuContext {
  return { snapshot, preferredFrontend: 'qtconsole', startAtLogin: false, notifications: { ...ALL_NOTIFICATIONS_ON }, agentMode: 'hosted', now: T0, ...over };
}

const sub = (item: Item | undefined) => (item?.submenu ?? []) as Item[];
const byLabel = (items: Item[], label: string) => {
  const found = items.find((i) => i.label === label);
  if (!found) throw new Error(`no item "${label}" in ${items.map((i) => i.label).join(' | ')}`);
  return found;
};
const click = (item: Item) => (item.click as unknown as () => void)();

describe('Jupyter servers in the menu', () => {
  const withServers: AgentSnapshot = {
    ...snapshot,
    kernels: [
      ...snapshot.kernels,
      kernel('gpu', 'cd2f2168-d08a-42e6-84e5-f31ee8f6bc13', { server: 'gpu/nbserver-777', notebook: 'reports/analysis.ipynb', state: 'running', watched: false }),
    ],
    servers: [
      server('gpu', 'nbserver-777', { kernels: ['gpu/cd2f2168-d08a-42e6-84e5-f31ee8f6bc13'], tunnelled: true, localUrl: 'http://127.0.0.1:50123/', localPort: 50123, version: '6.4.12' }),
      server('gpu', 'nbserver-900', { auth: 'password', listens: 'all-interfaces', endpoint: { kind: 'tcp', address: '0.0.0.0', port: 8890 }, warnings: ['It listens on 0.0.0.0:8890, so the network can reach it.'] }),
      server('gpu', 'jpserver-5', { app: 'jupyter-server', alive: false, version: '1.23.3', command: null }),
    ],
  };

  it("lists a host's servers with their state, and kernels by their notebook's name", () => {
    const gpu = sub(buildMenuTemplate(ctx({ snapshot: withServers }), recorder().intents).find((i) => i.id === 'host:gpu'));
    expect(gpu.filter((i) => String(i.id).startsWith('server:')).map((i) => i.label)).toEqual([
      'Notebook 6.4.12 nbserver-777 — running ⇄',
      'Notebook nbserver-900 — running ⚠',
      'Jupyter Server 1.23.3 jpserver-5 — dead',
    ]);
    expect(byLabel(gpu, 'analysis.ipynb (python3) — running')).toBeTruthy();
  });

  it('says which kernels a Stop takes with it, why a server warns, and routes the clicks', () => {
    const { calls, intents } = recorder();
    const gpu = sub(buildMenuTemplate(ctx({ snapshot: withServers }), intents).find((i) => i.id === 'host:gpu'));
    const nb = sub(gpu.find((i) => i.id === 'server:gpu/nbserver-777'));
    expect(nb.map((i) => i.label).filter(Boolean)).toEqual([
      '127.0.0.1:8887 — /home/ada/proj',
      'Here: http://127.0.0.1:50123/',
      'Notebooks: analysis.ipynb',
      'Open in browser',
      'Copy URL',
      'Close tunnel',
      'Stop (and its kernel)',
    ]);
    for (const label of ['Open in browser', 'Copy URL', 'Close tunnel', 'Stop (and its kernel)']) click(byLabel(nb, label));
    const pw = sub(gpu.find((i) => i.id === 'server:gpu/nbserver-900'));
    expect(pw.map((i) => i.label)).toContain('Uses a password: the browser asks for it');
    expect(pw.map((i) => i.label)).toContain('⚠ It listens on 0.0.0.0:8890, so the network can reach it.');
    const dead = sub(gpu.find((i) => i.id === 'server:gpu/jpserver-5'));
    expect(byLabel(dead, 'Open in browser').enabled).toBe(false);
    click(byLabel(dead, 'Remove stale file'));
    click(byLabel(gpu, 'Start Jupyter server'));
    expect(calls).toEqual([
      ['openServer', 'gpu/nbserver-777'],
      ['copyServerUrl', 'gpu/nbserver-777'],
      ['closeServer', 'gpu/nbserver-777'],
      ['stopServer', 'gpu/nbserver-777'],
      ['stopServer', 'gpu/jpserver-5'],
      ['startServer', 'gpu'],
    ]);
  });
});

describe('buildMenuTemplate', () => {
  it('lists hosts (local first) with their state and count of running kernels', () => {
    const t = buildMenuTemplate(ctx(), recorder().intents);
    const hosts = t.filter((i) => String(i.id).startsWith('host:')).map((i) => i.label);
    expect(hosts).toEqual(['local — connected', 'gpu — connected, 1 kernel', 'lab — lost 1m ago, 1 kernel']);
  });

  it('shows each kernel with its live state, "busy 3m" included', () => {
    const t = buildMenuTemplate(ctx(), recorder().intents);
    const gpu = sub(t.find((i) => i.id === 'host:gpu'));
    expect(gpu.filter((i) => String(i.id).startsWith('kernel:')).map((i) => i.label)).toEqual([
      'old (python3) — dead',
      'train (python3) — busy 3m ⇄',
    ]);
    expect(sub(t.find((i) => i.id === 'host:local'))[0]).toEqual({ label: 'No kernels', enabled: false });
  });

  it('offers the six kernel actions, enabled only where they can work', () => {
    const t = buildMenuTemplate(ctx(), recorder().intents);
    const gpu = sub(t.find((i) => i.id === 'host:gpu'));
    const actions = (id: string) => sub(gpu.find((i) => i.id === `kernel:${id}`) ?? sub(t.find((i) => i.id === 'host:lab')).find((i) => i.id === `kernel:${id}`));
    const enabled = (id: string) =>
      Object.fromEntries(actions(id).filter((i) => i.type !== 'separator').map((i) => [i.label, i.enabled]));
    expect(enabled('gpu/train')).toEqual({
      'Attach qtconsole': true,
      'Attach console': true,
      'Copy connection file path': true,
      Interrupt: true,
      Restart: true,
      Stop: true,
    });
    // A dead kernel cannot be attached, interrupted or stopped, but can be restarted from its file.
    expect(enabled('gpu/old')).toEqual({
      'Attach qtconsole': false,
      'Attach console': false,
      'Copy connection file path': false,
      Interrupt: false,
      Restart: true,
      Stop: false,
    });
    // On a lost host nothing is known: no action at all.
    expect(Object.values(enabled('lab/x')).every((e) => e === false)).toBe(true);
  });

  it("offers a kernel's plots once the agent holds some, and opens the window on them", () => {
    const { calls, intents } = recorder();
    const train = () => sub(sub(t.find((i) => i.id === 'host:gpu')).find((i) => i.id === 'kernel:gpu/train'));
    let t = buildMenuTemplate(ctx(), intents);
    expect(train().some((i) => /^Plots/.test(String(i.label)))).toBe(false);
    t = buildMenuTemplate(ctx({ snapshot: { ...snapshot, plotCounts: { 'gpu/train': 3, 'gpu/old': 0 } } }), intents);
    click(byLabel(train(), 'Plots (3)…'));
    expect(calls).toEqual([['openPlots', 'gpu/train']]);
    const old = sub(sub(t.find((i) => i.id === 'host:gpu')).find((i) => i.id === 'kernel:gpu/old'));
    expect(old.some((i) => /^Plots/.test(String(i.label)))).toBe(false);
  });

  it('routes kernel and host clicks to the intents with the right ids', () => {
    const { calls, intents } = recorder();
    const t = buildMenuTemplate(ctx(), intents);
    const gpu = sub(t.find((i) => i.id === 'host:gpu'));
    const train = sub(gpu.find((i) => i.id === 'kernel:gpu/train'));
    for (const label of ['Attach qtconsole', 'Attach console', 'Copy connection file path', 'Interrupt', 'Restart', 'Stop']) {
      click(byLabel(train, label));
    }
    click(byLabel(gpu, 'Start kernel'));
    click(byLabel(gpu, 'Reconnect'));
    expect(calls).toEqual([
      ['attach', 'gpu/train', 'qtconsole'],
      ['attach', 'gpu/train', 'console'],
      ['copyConnectionFile', 'gpu/train'],
      ['interrupt', 'gpu/train'],
      ['restart', 'gpu/train'],
      ['stop', 'gpu/train'],
      ['startKernel', 'gpu'],
      ['reconnect', 'gpu'],
    ]);
  });

  it('has no Reconnect for the local host, and disables host actions while connecting', () => {
    const t = buildMenuTemplate(ctx(), recorder().intents);
    expect(sub(t.find((i) => i.id === 'host:local')).some((i) => i.label === 'Reconnect')).toBe(false);
    const connecting = buildMenuTemplate(ctx({ snapshot: { ...snapshot, hosts: [host('gpu', { connection: 'connecting' })] } }), recorder().intents);
    const gpu = sub(connecting.find((i) => i.id === 'host:gpu'));
    expect(byLabel(gpu, 'Start kernel').enabled).toBe(false);
    expect(byLabel(gpu, 'Reconnect').enabled).toBe(false);
  });

  it("says which SSH transport a host goes through and why, as the window's row does", () => {
    const s = { ...snapshot, hosts: [host('gpu', { transport: { kind: 'openssh' as const, why: 'a user certificate (~/.ssh/id_ed25519-cert.pub)' } }), host('lab'), host('local')] };
    const t = buildMenuTemplate(ctx({ snapshot: s }), recorder().intents);
    expect(sub(t.find((i) => i.id === 'host:gpu')).map((i) => i.label)).toContain('Through your OpenSSH client: a user certificate (~/.ssh/id_ed25519-cert.pub)');
    expect(sub(t.find((i) => i.id === 'host:lab')).map((i) => i.label)).toContain('Through ssh2 (built in): nothing needs OpenSSH');
    expect(sub(t.find((i) => i.id === 'host:local')).some((i) => String(i.label).startsWith('Through '))).toBe(false);
  });

  it("shows a host's error and hint inside its submenu", () => {
    const s = { ...snapshot, hosts: [host('gpu', { connection: 'idle', error: { code: 'AUTH_FAILED' as const, message: 'Key refused by gpu.', hint: 'Run ssh-add.' } })] };
    const gpu = sub(buildMenuTemplate(ctx({ snapshot: s }), recorder().intents).find((i) => i.id === 'host:gpu'));
    expect(gpu.slice(0, 2)).toEqual([
      { label: 'Key refused by gpu.', enabled: false },
      { label: 'Run ssh-add.', enabled: false },
    ]);
  });

  it('reflects Start at login and the notification switches as checkboxes that ask for the opposite', () => {
    const { calls, intents } = recorder();
    const t = buildMenuTemplate(ctx({ startAtLogin: true, notifications: { ...ALL_NOTIFICATIONS_ON, hostBack: false } }), intents);
    const login = byLabel(t, 'Start at login');
    expect(login).toMatchObject({ type: 'checkbox', checked: true });
    click(login);
    const notes = sub(byLabel(t, 'Notifications'));
    expect(notes.map((n) => [n.label, n.checked])).toEqual([
      ['Kernel died', true],
      ['Host connection lost', true],
      ['Host connection back', false],
      ['Long run finished', true],
      ['Batch job started', true],
      ['Batch job near its time limit', true],
      ['Batch job ended', true],
      ['New plot', true],
    ]);
    click(byLabel(notes, 'Host connection back'));
    click(byLabel(notes, 'Kernel died'));
    expect(calls).toEqual([
      ['setStartAtLogin', false],
      ['setNotification', 'hostBack', true],
      ['setNotification', 'kernelDied', false],
    ]);
    expect(buildMenuTemplate(ctx({ startAtLogin: false }), intents).find((i) => i.label === 'Start at login')?.checked).toBe(false);
  });

  it('ends with Open Kernel Tray and Quit, and says kernels keep running when the agent is ours', () => {
    const { calls, intents } = recorder();
    const t = buildMenuTemplate(ctx(), intents);
    click(byLabel(t, 'Open Kernel Tray'));
    const quit = t.at(-1)!;
    expect(quit.label).toBe('Quit (kernels keep running)');
    click(quit);
    expect(calls).toEqual([['openWindow'], ['quit']]);
    expect(buildMenuTemplate(ctx({ agentMode: 'client' }), intents).at(-1)?.label).toBe('Quit');
    expect(buildMenuTemplate(ctx({ agentMode: 'client' }), intents)[0]).toEqual({ label: 'Using the agent started by ktray', enabled: false });
  });

  it('while starting and after a failure, says so and offers to try again', () => {
    const { calls, intents } = recorder();
    const starting = buildMenuTemplate(ctx({ agentMode: 'none', snapshot: { hosts: [], kernels: [], servers: [], error: null } }), intents);
    expect(starting[0]).toEqual({ label: 'Starting the agent…', enabled: false });
    const failed = buildMenuTemplate(ctx({ agentMode: 'none', snapshot: { hosts: [], kernels: [], servers: [], error: 'Agent not available: EACCES' } }), intents);
    expect(failed[0]).toEqual({ label: 'Agent not available: EACCES', enabled: false });
    click(byLabel(failed, 'Try again'));
    expect(calls).toEqual([['retryAgent']]);
    expect(failed.some((i) => i.label === 'Quit (kernels keep running)' || i.label === 'Quit')).toBe(true);
  });
});

describe("a Slurm cluster's kernels", () => {
  const job = (over: Record<string, unknown>) => ({
    scheduler: 'slurm' as const, jobId: '812', state: 'RUNNING', reason: null, node: 'gpu07', partition: 'gpu', endsAt: T0 + 54 * 60_000,
    timeLimit: '4:00:00', logFile: '/l', ended: null, ...over,
  });
  const cluster: AgentSnapshot = {
    hosts: [host('hpc', { scheduler: { kind: 'slurm', args: '-p gpu' } })],
    kernels: [
      kernel('hpc', 'a-run', { pid: null, state: 'idle', job: job({}) }),
      kernel('hpc', 'b-wait', { pid: null, alive: false, state: 'queued', job: job({ jobId: '813', state: 'PENDING', reason: 'Priority', node: null, endsAt: null }) }),
      kernel('hpc', 'c-done', { pid: null, alive: false, state: 'dead', job: job({ jobId: '800', state: 'TIMEOUT', ended: 'time limit' }) }),
    ],
    servers: [],
    error: null,
  };

  it('shows queued with the reason, running with node and time left; a queued job can be cancelled, an ended one not restarted', () => {
    const { calls, intents } = recorder();
    const t = buildMenuTemplate(ctx({ snapshot: cluster }), intents);
    const hpc = sub(t.find((i) => i.id === 'host:hpc'));
    const kernels = hpc.filter((i) => String(i.id).startsWith('kernel:'));
    expect(kernels.map((i) => i.label)).toEqual(['a-run (python3) — idle · gpu07, 54m left', 'b-wait (python3) — queued (Priority)', 'c-done (python3) — dead']);
    const [run, wait, done] = kernels.map((k) => sub(k));
    expect(byLabel(run!, 'Stop').enabled).toBe(true);
    expect(byLabel(run!, 'Restart').enabled).toBe(true);
    click(byLabel(wait!, 'Cancel job'));
    expect(calls).toEqual([['stop', 'hpc/b-wait']]);
    expect(byLabel(done!, 'Restart').enabled).toBe(false);
  });
});

describe('preferred frontend', () => {
  it('puts the preferred Attach first and offers the choice as radio items', () => {
    const { calls, intents } = recorder();
    const attachLabels = (t: Item[]) =>
      sub(sub(t.find((i) => i.id === 'host:gpu')).find((i) => i.id === 'kernel:gpu/train'))
        .slice(0, 2)
        .map((i) => i.label);
    expect(attachLabels(buildMenuTemplate(ctx(), intents))).toEqual(['Attach qtconsole', 'Attach console']);
    const t = buildMenuTemplate(ctx({ preferredFrontend: 'console' }), intents);
    expect(attachLabels(t)).toEqual(['Attach console', 'Attach qtconsole']);
    const radios = sub(byLabel(t, 'Preferred frontend'));
    expect(radios.map((r) => [r.label, r.type, r.checked])).toEqual([
      ['qtconsole', 'radio', false],
      ['console', 'radio', true],
    ]);
    click(radios[0]);
    expect(calls).toEqual([['setPreferredFrontend', 'qtconsole']]);
  });
});

describe('kernelIsLive', () => {
  it('needs a running process on a reachable host', () => {
    expect(kernelIsLive(kernel('h', 'a'))).toBe(true);
    expect(kernelIsLive(kernel('h', 'a', { state: 'starting' }))).toBe(true);
    expect(kernelIsLive(kernel('h', 'a', { alive: false, state: 'dead' }))).toBe(false);
    expect(kernelIsLive(kernel('h', 'a', { state: 'unknown' }))).toBe(false);
  });
});
