/**
 * Draws the extension icon (images/icon.png, 128x128) and the task icon (icon.png next to task.json, 32x32):
 * a container image (the stacked blue box) being pulled down an arrow into the app, with a green check for a
 * verified pull. Rendered with a tiny supersampling rasteriser so the project owns its artwork.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';

type RGBA = [number, number, number, number];
type Shape = (x: number, y: number) => boolean;

const AZURE: RGBA = [0, 120, 212, 255];
const DARK: RGBA = [0, 69, 130, 255];
const WHITE: RGBA = [255, 255, 255, 255];
const GREEN: RGBA = [16, 124, 16, 255];

const roundedRect =
  (x0: number, y0: number, x1: number, y1: number, r: number): Shape =>
  (x, y) => {
    if (x < x0 || x > x1 || y < y0 || y > y1) return false;
    const cx = Math.min(Math.max(x, x0 + r), x1 - r);
    const cy = Math.min(Math.max(y, y0 + r), y1 - r);
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
  };
const circle =
  (cx: number, cy: number, r: number): Shape =>
  (x, y) =>
    (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
const segment =
  (ax: number, ay: number, bx: number, by: number, w: number): Shape =>
  (x, y) => {
    const t = Math.max(
      0,
      Math.min(1, ((x - ax) * (bx - ax) + (y - ay) * (by - ay)) / ((bx - ax) ** 2 + (by - ay) ** 2)),
    );
    return (x - ax - t * (bx - ax)) ** 2 + (y - ay - t * (by - ay)) ** 2 <= (w / 2) ** 2;
  };
const triangle =
  (ax: number, ay: number, bx: number, by: number, cx: number, cy: number): Shape =>
  (x, y) => {
    const s = (px: number, py: number, qx: number, qy: number) => (x - qx) * (py - qy) - (px - qx) * (y - qy);
    const d1 = s(ax, ay, bx, by);
    const d2 = s(bx, by, cx, cy);
    const d3 = s(cx, cy, ax, ay);
    return !((d1 < 0 || d2 < 0 || d3 < 0) && (d1 > 0 || d2 > 0 || d3 > 0));
  };

/** Layers in a 0..1 coordinate space, painted in order. */
const layers: [Shape, RGBA][] = [
  [roundedRect(0.02, 0.02, 0.98, 0.98, 0.18), AZURE],
  // the container image: three stacked layers
  [roundedRect(0.16, 0.12, 0.6, 0.24, 0.03), WHITE],
  [roundedRect(0.16, 0.27, 0.6, 0.39, 0.03), WHITE],
  [roundedRect(0.16, 0.42, 0.6, 0.54, 0.03), WHITE],
  // the pull: an arrow down into the app
  [segment(0.38, 0.56, 0.38, 0.7, 0.08), WHITE],
  [triangle(0.27, 0.68, 0.49, 0.68, 0.38, 0.8), WHITE],
  // the app
  [roundedRect(0.14, 0.8, 0.62, 0.9, 0.03), DARK],
  // the verified pull
  [circle(0.74, 0.74, 0.2), WHITE],
  [circle(0.74, 0.74, 0.17), GREEN],
  [segment(0.65, 0.75, 0.71, 0.81, 0.055), WHITE],
  [segment(0.71, 0.81, 0.83, 0.67, 0.055), WHITE],
];

function render(size: number): Buffer {
  const ss = 4;
  const rows: Buffer[] = [];
  for (let py = 0; py < size; py++) {
    const row = Buffer.alloc(1 + size * 4);
    for (let px = 0; px < size; px++) {
      const acc = [0, 0, 0, 0];
      for (let sy = 0; sy < ss; sy++) {
        for (let sx = 0; sx < ss; sx++) {
          const x = (px + (sx + 0.5) / ss) / size;
          const y = (py + (sy + 0.5) / ss) / size;
          let color: RGBA = [0, 0, 0, 0];
          for (const [shape, c] of layers) if (shape(x, y)) color = c;
          for (let i = 0; i < 4; i++) acc[i]! += color[i]!;
        }
      }
      for (let i = 0; i < 4; i++) row[1 + px * 4 + i] = Math.round(acc[i]! / (ss * ss));
    }
    rows.push(row);
  }
  return png(size, size, Buffer.concat(rows));
}

function png(width: number, height: number, raw: Buffer): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function crc32(buf: Buffer): number {
  let c = ~0;
  for (const byte of buf) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}

const root = join(__dirname, '..');
writeFileSync(join(root, 'images', 'icon.png'), render(128));
writeFileSync(join(root, 'tasks', 'EnsureAcrManagedIdentityPullV1', 'icon.png'), render(32));
console.log('wrote images/icon.png (128x128) and tasks/EnsureAcrManagedIdentityPullV1/icon.png (32x32)');
