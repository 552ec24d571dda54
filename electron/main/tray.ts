// The tray icon: picture for the overall state, the native menu, and clicks.
import { Menu, Tray, nativeImage, type MenuItemConstructorOptions, type NativeImage, type Rectangle } from 'electron';
import path from 'node:path';
import { trayIconSpec, trayToolTip, type OverallState } from './icons';
import type { AgentSnapshot } from './agent-state';
import { overallState } from './icons';
import { currentPlatform, type Platform } from './platform';

export interface TrayOptions {
  assetsDir: string;
  platform?: Platform;
  createTray?: (image: NativeImage) => Tray;
  loadImage?: (file: string) => NativeImage;
  buildMenu?: (template: MenuItemConstructorOptions[]) => Menu;
  /** Left click on macOS/Windows; gets the icon's bounds to place the popup. */
  onToggleWindow(bounds: Rectangle | null): void;
}

export class TrayController {
  private readonly tray: Tray;
  private readonly platform: Platform;
  private readonly images = new Map<OverallState, NativeImage>();
  private menu: Menu | null = null;
  private state: OverallState | null = null;

  constructor(private readonly o: TrayOptions) {
    this.platform = o.platform ?? currentPlatform();
    this.tray = (o.createTray ?? ((image) => new Tray(image)))(this.image('idle'));
    this.state = 'idle';
    this.tray.setToolTip('Kernel Tray');
    // Linux: AppIndicator never emits `click` (the menu is all there is); where a
    // desktop does send an activation, it opens the window without a position.
    this.tray.on('click', (_event, bounds) => o.onToggleWindow(this.platform === 'linux' ? null : (bounds ?? null)));
    if (this.platform !== 'linux') {
      // macOS: setContextMenu would take over the left click (electron/electron#4796),
      // so the menu is popped up by hand on right click there.
      this.tray.on('right-click', () => {
        if (this.menu) this.tray.popUpContextMenu(this.menu);
      });
    }
    if (this.platform === 'darwin') this.tray.setIgnoreDoubleClickEvents(true);
  }

  /** Shows `template` as the menu and the snapshot's overall state as the icon. */
  render(snapshot: AgentSnapshot, template: MenuItemConstructorOptions[]): void {
    // A redraw queued before quitting may arrive after the icon is gone.
    if (this.tray.isDestroyed()) return;
    const state = snapshot.error ? 'problem' : overallState(snapshot.hosts, snapshot.kernels);
    if (state !== this.state) {
      this.tray.setImage(this.image(state));
      this.state = state;
    }
    this.tray.setToolTip(snapshot.error ? `Kernel Tray: ${snapshot.error}` : trayToolTip(state, snapshot.hosts, snapshot.kernels));
    this.menu = (this.o.buildMenu ?? ((t) => Menu.buildFromTemplate(t)))(template);
    // Linux (AppIndicator) shows only this menu and never fires `click`; it must be
    // set again after every change for the change to show. Windows shows it on right
    // click and still fires `click` on the left. macOS: see the constructor.
    if (this.platform !== 'darwin') this.tray.setContextMenu(this.menu);
  }

  get overall(): OverallState | null {
    return this.state;
  }

  bounds(): Rectangle | null {
    if (this.platform === 'linux') return null;
    const b = this.tray.getBounds();
    return b.width === 0 && b.height === 0 ? null : b;
  }

  destroy(): void {
    if (!this.tray.isDestroyed()) this.tray.destroy();
  }

  private image(state: OverallState): NativeImage {
    let img = this.images.get(state);
    if (!img) {
      const spec = trayIconSpec(this.platform, state);
      const file = path.join(this.o.assetsDir, spec.file);
      img = (this.o.loadImage ?? ((f) => nativeImage.createFromPath(f)))(file);
      if (spec.template) img.setTemplateImage(true);
      this.images.set(state, img);
    }
    return img;
  }
}
