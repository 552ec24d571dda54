// Where the popup goes, from the tray icon's bounds and the display's work area.
// Pure: the tray side of the screen is inferred from where the icon sits in
// the work area, the way a taskbar or menu bar can be on any edge.

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export type TrayEdge = 'top' | 'bottom' | 'left' | 'right';

/** The screen edge the tray sits on: the one the icon is closest to, outside or inside the work area. */
export function trayEdge(tray: Rect, workArea: Rect): TrayEdge {
  const cx = tray.x + tray.width / 2;
  const cy = tray.y + tray.height / 2;
  const distances: Array<[TrayEdge, number]> = [
    ['top', cy - workArea.y],
    ['bottom', workArea.y + workArea.height - cy],
    ['left', cx - workArea.x],
    ['right', workArea.x + workArea.width - cx],
  ];
  distances.sort((a, b) => a[1] - b[1]);
  return distances[0][0];
}

const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(v, Math.max(lo, hi)));

/**
 * Top-left corner for a window of `size` so it hangs off the tray icon and
 * stays inside the work area. Without tray bounds (Linux reports zeros) the
 * window goes to the work area's top-right corner.
 */
export function popupPosition(
  tray: Rect | null,
  workArea: Rect,
  size: { width: number; height: number },
  margin = 4,
): { x: number; y: number } {
  const minX = workArea.x + margin;
  const minY = workArea.y + margin;
  const maxX = workArea.x + workArea.width - size.width - margin;
  const maxY = workArea.y + workArea.height - size.height - margin;
  if (!tray || (tray.width === 0 && tray.height === 0)) return { x: Math.round(Math.max(minX, maxX)), y: Math.round(minY) };

  const centredX = tray.x + tray.width / 2 - size.width / 2;
  const centredY = tray.y + tray.height / 2 - size.height / 2;
  let x: number;
  let y: number;
  switch (trayEdge(tray, workArea)) {
    case 'top':
      x = clamp(centredX, minX, maxX);
      y = minY;
      break;
    case 'bottom':
      x = clamp(centredX, minX, maxX);
      y = maxY;
      break;
    case 'left':
      x = minX;
      y = clamp(centredY, minY, maxY);
      break;
    case 'right':
      x = maxX;
      y = clamp(centredY, minY, maxY);
      break;
  }
  return { x: Math.round(x), y: Math.round(y) };
}
