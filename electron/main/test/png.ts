// Just enough PNG reading to check the committed tray pictures (8-bit RGBA, as scripts/make-icons.mjs writes them).
import fs from 'node:fs';
import zlib from 'node:zlib';

export interface Png {
  width: number;
  height: number;
  colourType: number;
  /** RGBA rows without filter bytes; only for unfiltered images. */
  pixels: Buffer;
}

export function readPng(file: string): Png {
  const b = fs.readFileSync(file);
  if (b.subarray(0, 8).toString('hex') !== '89504e470d0a1a0a') throw new Error(`${file} is not a PNG`);
  const width = b.readUInt32BE(16);
  const height = b.readUInt32BE(20);
  const colourType = b[25];
  const idat: Buffer[] = [];
  for (let o = 8; o < b.length; ) {
    const len = b.readUInt32BE(o);
    if (b.toString('ascii', o + 4, o + 8) === 'IDAT') idat.push(b.subarray(o + 8, o + 8 + len));
    o += 12 + len;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const pixels = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 4 + 1);
    if (raw[row] !== 0) throw new Error(`${file}: row ${y} uses PNG filter ${raw[row]}, not read here`);
    raw.copy(pixels, y * width * 4, row + 1, row + 1 + width * 4);
  }
  return { width, height, colourType, pixels };
}
