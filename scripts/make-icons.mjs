#!/usr/bin/env node
// Draws the tray and app icons into assets/ with plain Node (zlib for PNG),
// so the pictures are reproducible from this file: `node scripts/make-icons.mjs`.
// The glyph: a kernel (dot) in its orbit (ring) with a satellite.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const out = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'assets');

// ------------------------------------------------------------------ PNG

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** RGBA bytes (straight alpha) -> PNG file bytes. */
export function encodePng(width, height, rgba) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // colour type RGBA
  const raw = Buffer.alloc((width * 4 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 4 + 1)] = 0; // filter: none
    rgba.copy(raw, y * (width * 4 + 1) + 1, y * width * 4, (y + 1) * width * 4);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// ------------------------------------------------------------------ drawing

const hex = (h) => [parseInt(h.slice(1, 3), 16), parseInt(h.slice(3, 5), 16), parseInt(h.slice(5, 7), 16)];

// Shapes in a 0..1 square; `inside(x, y)` says whether a point is covered.
const disc = (cx, cy, r) => (x, y) => (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
const ring = (cx, cy, r, w) => (x, y) => Math.abs(Math.hypot(x - cx, y - cy) - r) <= w / 2;
const minus = (a, b) => (x, y) => a(x, y) && !b(x, y);
const roundedSquare = (inset, radius) => (x, y) => {
  const lo = inset + radius;
  const hi = 1 - inset - radius;
  const dx = Math.max(lo - x, 0, x - hi);
  const dy = Math.max(lo - y, 0, y - hi);
  return x >= inset && x <= 1 - inset && y >= inset && y <= 1 - inset && dx * dx + dy * dy <= radius * radius;
};

/** Paints layers of [shape, colour] with 4x4 supersampling for smooth edges. */
function render(size, layers, ss = 4) {
  const rgba = Buffer.alloc(size * size * 4);
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let r = 0, g = 0, b = 0, a = 0; // premultiplied accumulator
      for (let sy = 0; sy < ss; sy++) {
        for (let sx = 0; sx < ss; sx++) {
          const x = (px + (sx + 0.5) / ss) / size;
          const y = (py + (sy + 0.5) / ss) / size;
          let cr = 0, cg = 0, cb = 0, ca = 0;
          for (const [inside, [lr, lg, lb], la = 1] of layers) {
            if (!inside(x, y)) continue;
            cr = lr * la + cr * (1 - la);
            cg = lg * la + cg * (1 - la);
            cb = lb * la + cb * (1 - la);
            ca = la + ca * (1 - la);
          }
          r += cr; g += cg; b += cb; a += ca;
        }
      }
      const n = ss * ss;
      const i = (py * size + px) * 4;
      const alpha = a / n;
      rgba[i] = alpha ? Math.round(r / n / alpha) : 0;
      rgba[i + 1] = alpha ? Math.round(g / n / alpha) : 0;
      rgba[i + 2] = alpha ? Math.round(b / n / alpha) : 0;
      rgba[i + 3] = Math.round(alpha * 255);
    }
  }
  return encodePng(size, size, rgba);
}

// The orbit is cut where the satellite sits so the two read apart at 16 px.
const SAT = [0.5 + 0.36 * Math.cos(-Math.PI / 4), 0.5 + 0.36 * Math.sin(-Math.PI / 4)];
const glyph = (colour) => [
  [minus(ring(0.5, 0.5, 0.36, 0.1), disc(SAT[0], SAT[1], 0.17)), colour],
  [disc(0.5, 0.5, 0.17), colour],
  [disc(SAT[0], SAT[1], 0.1), colour],
];

const COLOURS = {
  idle: hex('#8b949e'), // neutral grey: visible on light and dark panels
  busy: hex('#f0a000'),
  problem: hex('#e5484d'),
};

function write(name, png) {
  fs.writeFileSync(path.join(out, name), png);
  console.log(`assets/${name} (${png.length} bytes)`);
}

fs.mkdirSync(out, { recursive: true });
// macOS template: black + alpha only, the menu bar recolours it.
write('trayTemplate.png', render(16, glyph([0, 0, 0])));
write('trayTemplate@2x.png', render(32, glyph([0, 0, 0])));
for (const [state, colour] of Object.entries(COLOURS)) {
  write(`tray-${state}.png`, render(16, glyph(colour)));
  write(`tray-${state}@2x.png`, render(32, glyph(colour)));
  // Linux: one bitmap, no @2x sibling (see electron/main/icons.ts).
  write(`tray-linux-${state}.png`, render(32, glyph(colour)));
}
write(
  'icon.png',
  render(
    512,
    [
      [roundedSquare(0.06, 0.18), hex('#1f3b5c')],
      [minus(ring(0.5, 0.5, 0.27, 0.06), disc(0.5 + 0.27 * Math.cos(-Math.PI / 4), 0.5 + 0.27 * Math.sin(-Math.PI / 4), 0.12)), hex('#f2f5f8')],
      [disc(0.5, 0.5, 0.12), hex('#f37726')],
      [disc(0.5 + 0.27 * Math.cos(-Math.PI / 4), 0.5 + 0.27 * Math.sin(-Math.PI / 4), 0.07), hex('#f2f5f8')],
    ],
    2,
  ),
);
