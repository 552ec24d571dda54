import { describe, expect, it } from 'vitest';
import { popupPosition, trayEdge } from './window-position';

const SIZE = { width: 400, height: 560 };

describe('popupPosition', () => {
  it('hangs below a macOS menu bar icon, centred on it', () => {
    const workArea = { x: 0, y: 25, width: 1440, height: 875 };
    const tray = { x: 1000, y: 0, width: 22, height: 24 };
    expect(trayEdge(tray, workArea)).toBe('top');
    expect(popupPosition(tray, workArea, SIZE)).toEqual({ x: 1011 - 200, y: 29 });
  });

  it('keeps the window on screen when the icon is near the right edge', () => {
    const workArea = { x: 0, y: 25, width: 1440, height: 875 };
    const tray = { x: 1410, y: 0, width: 22, height: 24 };
    expect(popupPosition(tray, workArea, SIZE)).toEqual({ x: 1440 - 400 - 4, y: 29 });
  });

  it('sits above a Windows taskbar at the bottom', () => {
    const workArea = { x: 0, y: 0, width: 1920, height: 1040 };
    const tray = { x: 1700, y: 1048, width: 24, height: 32 };
    expect(trayEdge(tray, workArea)).toBe('bottom');
    expect(popupPosition(tray, workArea, SIZE)).toEqual({ x: 1512, y: 1040 - 560 - 4 });
  });

  it('goes beside a taskbar on the left or right edge', () => {
    const left = { x: 62, y: 0, width: 1858, height: 1080 };
    const trayLeft = { x: 20, y: 1000, width: 24, height: 24 };
    expect(trayEdge(trayLeft, left)).toBe('left');
    expect(popupPosition(trayLeft, left, SIZE)).toEqual({ x: 66, y: 1080 - 560 - 4 });
    const right = { x: 0, y: 0, width: 1858, height: 1080 };
    const trayRight = { x: 1875, y: 300, width: 24, height: 24 };
    expect(trayEdge(trayRight, right)).toBe('right');
    expect(popupPosition(trayRight, right, SIZE)).toEqual({ x: 1858 - 400 - 4, y: 312 - 280 });
  });

  it('works on a second display with negative coordinates', () => {
    const workArea = { x: -1920, y: 25, width: 1920, height: 1055 };
    const tray = { x: -300, y: 0, width: 22, height: 24 };
    expect(popupPosition(tray, workArea, SIZE)).toEqual({ x: -289 - 200, y: 29 });
  });

  it('uses the top-right corner of the work area without tray bounds (Linux gives none)', () => {
    const workArea = { x: 0, y: 32, width: 1920, height: 1048 };
    expect(popupPosition(null, workArea, SIZE)).toEqual({ x: 1516, y: 36 });
    expect(popupPosition({ x: 0, y: 0, width: 0, height: 0 }, workArea, SIZE)).toEqual({ x: 1516, y: 36 });
  });

  it('pins to the work area origin when the window is larger than the screen', () => {
    const workArea = { x: 0, y: 0, width: 300, height: 400 };
    expect(popupPosition({ x: 150, y: 0, width: 20, height: 20 }, workArea, SIZE)).toEqual({ x: 4, y: 4 });
  });
});
