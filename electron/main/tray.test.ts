import { beforeEach, describe, expect, it } from 'vitest';
import type { MenuItemConstructorOptions } from 'electron';
import type { AgentSnapshot } from './agent-state';
import type { Platform } from './platform';
import { Tray, resetElectronStub, type NativeImage } from './test/electron-stub';
import { host, kernel } from './test/fixtures';
import { TrayController } from './tray';

const idle: AgentSnapshot = { hosts: [host('local')], kernels: [kernel('local', 'a')], servers: [], error: null };
const busy: AgentSnapshot = { ...idle, kernels: [kernel('local', 'a', { state: 'busy' })] };
const lost: AgentSnapshot = { hosts: [host('gpu', { connection: 'lost' })], kernels: [], servers: [], error: null };
const template: MenuItemConstructorOptions[] = [{ label: 'Quit' }];

function setup(platform: Platform) {
  const toggles: unknown[] = [];
  const controller = new TrayController({ assetsDir: '/assets', platform, onToggleWindow: (b) => toggles.push(b) });
  const tray = Tray.instances.at(-1)!;
  return { controller, tray, toggles };
}

const image = (t: Tray) => t.image as unknown as NativeImage;

describe('TrayController', () => {
  beforeEach(() => resetElectronStub());

  it('on Linux sets the context menu on every render; an activation opens the window unplaced', () => {
    const { controller, tray, toggles } = setup('linux');
    controller.render(idle, template);
    controller.render(busy, template);
    expect(tray.setContextMenuCalls).toBe(2);
    expect(tray.contextMenu?.items).toEqual(template);
    expect(tray.listenerCount('right-click')).toBe(0);
    tray.emit('click', {}, { x: 1, y: 1, width: 1, height: 1 });
    expect(toggles).toEqual([null]);
    expect(image(tray).path).toBe('/assets/tray-linux-busy.png');
    expect(controller.bounds()).toBeNull();
  });

  it('on macOS leaves the left click to the popup and pops the menu on right click', () => {
    const { controller, tray, toggles } = setup('darwin');
    expect(image(tray).path).toBe('/assets/trayTemplate.png');
    expect(image(tray).template).toBe(true);
    controller.render(idle, template);
    expect(tray.setContextMenuCalls).toBe(0);
    const bounds = { x: 900, y: 0, width: 22, height: 24 };
    tray.emit('click', {}, bounds);
    expect(toggles).toEqual([bounds]);
    tray.emit('right-click');
    expect(tray.poppedUp.at(-1)?.items).toEqual(template);
    controller.render(busy, [{ label: 'Other' }]);
    tray.emit('right-click');
    expect(tray.poppedUp.at(-1)?.items).toEqual([{ label: 'Other' }]);
    expect(image(tray).path).toBe('/assets/tray-busy.png');
    expect(image(tray).template).toBe(false);
  });

  it('on Windows sets the menu (right click) and toggles the window on left click', () => {
    const { controller, tray, toggles } = setup('win32');
    controller.render(lost, template);
    expect(tray.setContextMenuCalls).toBe(1);
    expect(image(tray).path).toBe('/assets/tray-problem.png');
    tray.emit('click', {}, tray.bounds);
    expect(toggles).toHaveLength(1);
    expect(controller.bounds()).toEqual(tray.bounds);
    expect(tray.toolTip).toBe('Kernel Tray: 0 kernels, lost: gpu');
  });

  it('shows an agent error as a problem, with the error as tooltip', () => {
    const { controller, tray } = setup('linux');
    controller.render({ hosts: [], kernels: [], servers: [], error: 'Agent not available: boom' }, template);
    expect(controller.overall).toBe('problem');
    expect(tray.toolTip).toBe('Kernel Tray: Agent not available: boom');
  });

  it('loads each state image once and destroys the tray once', () => {
    const { controller, tray } = setup('win32');
    controller.render(busy, template);
    const busyImage = tray.image;
    controller.render(idle, template);
    controller.render(busy, template);
    expect(tray.image).toBe(busyImage);
    controller.destroy();
    controller.destroy();
    expect(tray.isDestroyed()).toBe(true);
    const calls = tray.setContextMenuCalls;
    controller.render(idle, template); // late redraw: ignored
    expect(tray.setContextMenuCalls).toBe(calls);
  });
});
