// Draws the widget's logos and tour slides (widget/images/*.png) at the exact sizes Kommo's
// marketplace asks for. The artwork is plain geometry (a deal card, the sync arrows, an envelope),
// rasterised here with 4x4 supersampling so that edges are smooth, and written with pngjs.
// Run: npx tsx scripts/draw-widget-images.ts   (the PNGs are committed; rerun after a change here)
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { PNG } from "pngjs";

type Rgba = [number, number, number, number];
type Paint = Rgba | ((x: number, y: number) => Rgba);
/** Signed distance: negative inside the shape. */
type Shape = { distance: (x: number, y: number) => number; box: [number, number, number, number] };

const SAMPLES = 4;

const hex = (value: string, alpha = 1): Rgba => {
  const n = parseInt(value.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255, alpha];
};

const COLORS = {
  ink: hex("#1f2a44"),
  indigo: hex("#4f46e5"),
  violet: hex("#7c3aed"),
  teal: hex("#0ea5a4"),
  sky: hex("#38bdf8"),
  white: hex("#ffffff"),
  mist: hex("#eef2ff"),
  line: hex("#c7d2fe"),
  green: hex("#22c55e"),
  amber: hex("#f59e0b"),
  rose: hex("#f43f5e"),
};

class Canvas {
  readonly pixels: Float64Array;
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.pixels = new Float64Array(width * height * 4);
  }

  fill(shape: Shape, paint: Paint, opacity = 1): void {
    const [x0, y0, x1, y1] = shape.box;
    const left = Math.max(0, Math.floor(x0) - 1);
    const top = Math.max(0, Math.floor(y0) - 1);
    const right = Math.min(this.width, Math.ceil(x1) + 1);
    const bottom = Math.min(this.height, Math.ceil(y1) + 1);
    for (let y = top; y < bottom; y++) {
      for (let x = left; x < right; x++) {
        let covered = 0;
        for (let sy = 0; sy < SAMPLES; sy++) {
          for (let sx = 0; sx < SAMPLES; sx++) {
            if (shape.distance(x + (sx + 0.5) / SAMPLES, y + (sy + 0.5) / SAMPLES) <= 0) covered++;
          }
        }
        if (covered === 0) continue;
        const color = typeof paint === "function" ? paint(x + 0.5, y + 0.5) : paint;
        this.blend(x, y, color, (covered / (SAMPLES * SAMPLES)) * color[3] * opacity);
      }
    }
  }

  private blend(x: number, y: number, color: Rgba, alpha: number): void {
    const index = (y * this.width + x) * 4;
    const p = this.pixels;
    const below = p[index + 3]!;
    const out = alpha + below * (1 - alpha);
    for (let channel = 0; channel < 3; channel++) {
      p[index + channel] = out === 0 ? 0 : (color[channel]! * alpha + p[index + channel]! * below * (1 - alpha)) / out;
    }
    p[index + 3] = out;
  }

  png(): Buffer {
    const png = new PNG({ width: this.width, height: this.height });
    for (let i = 0; i < this.pixels.length; i += 4) {
      png.data[i] = Math.round(this.pixels[i]!);
      png.data[i + 1] = Math.round(this.pixels[i + 1]!);
      png.data[i + 2] = Math.round(this.pixels[i + 2]!);
      png.data[i + 3] = Math.round(this.pixels[i + 3]! * 255);
    }
    return PNG.sync.write(png, { colorType: 6, deflateLevel: 9 });
  }
}

// --- shapes ---------------------------------------------------------------------------------

function roundedRect(x: number, y: number, width: number, height: number, radius: number): Shape {
  const cx = x + width / 2;
  const cy = y + height / 2;
  return {
    box: [x, y, x + width, y + height],
    distance: (px, py) => {
      const qx = Math.abs(px - cx) - width / 2 + radius;
      const qy = Math.abs(py - cy) - height / 2 + radius;
      return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - radius;
    },
  };
}

function circle(cx: number, cy: number, radius: number): Shape {
  return { box: [cx - radius, cy - radius, cx + radius, cy + radius], distance: (px, py) => Math.hypot(px - cx, py - cy) - radius };
}

/** A thick stroke from (ax, ay) to (bx, by) with round ends. */
function segment(ax: number, ay: number, bx: number, by: number, thickness: number): Shape {
  const r = thickness / 2;
  return {
    box: [Math.min(ax, bx) - r, Math.min(ay, by) - r, Math.max(ax, bx) + r, Math.max(ay, by) + r],
    distance: (px, py) => {
      const dx = bx - ax;
      const dy = by - ay;
      const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy || 1)));
      return Math.hypot(px - (ax + t * dx), py - (ay + t * dy)) - r;
    },
  };
}

/** A ring segment between two angles (radians, clockwise from +x, screen coordinates). */
function arc(cx: number, cy: number, radius: number, thickness: number, from: number, to: number): Shape {
  const half = thickness / 2;
  const span = (((to - from) % (2 * Math.PI)) + 2 * Math.PI) % (2 * Math.PI);
  const cap = (angle: number) => [cx + Math.cos(angle) * radius, cy + Math.sin(angle) * radius] as const;
  const [sx, sy] = cap(from);
  const [ex, ey] = cap(to);
  return {
    box: [cx - radius - half, cy - radius - half, cx + radius + half, cy + radius + half],
    distance: (px, py) => {
      const angle = (((Math.atan2(py - cy, px - cx) - from) % (2 * Math.PI)) + 2 * Math.PI) % (2 * Math.PI);
      if (angle <= span) return Math.abs(Math.hypot(px - cx, py - cy) - radius) - half;
      return Math.min(Math.hypot(px - sx, py - sy), Math.hypot(px - ex, py - ey)) - half;
    },
  };
}

function triangle(points: [number, number][]): Shape {
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const edges = points.map((a, i) => [a, points[(i + 1) % points.length]!] as const);
  const orientation = Math.sign((points[1]![0] - points[0]![0]) * (points[2]![1] - points[0]![1]) - (points[1]![1] - points[0]![1]) * (points[2]![0] - points[0]![0]));
  return {
    box: [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)],
    distance: (px, py) => {
      let worst = -Infinity;
      for (const [a, b] of edges) {
        const ex = b[0] - a[0];
        const ey = b[1] - a[1];
        const side = (orientation * (ex * (py - a[1]) - ey * (px - a[0]))) / Math.hypot(ex, ey);
        worst = Math.max(worst, -side);
      }
      return worst;
    },
  };
}

const linear = (x0: number, y0: number, x1: number, y1: number, from: Rgba, to: Rgba) => (x: number, y: number): Rgba => {
  const dx = x1 - x0;
  const dy = y1 - y0;
  const t = Math.max(0, Math.min(1, ((x - x0) * dx + (y - y0) * dy) / (dx * dx + dy * dy)));
  return [from[0] + (to[0] - from[0]) * t, from[1] + (to[1] - from[1]) * t, from[2] + (to[2] - from[2]) * t, from[3] + (to[3] - from[3]) * t];
};

// --- motifs -----------------------------------------------------------------------------------

/** The product mark: two arrows chasing each other round a circle (sync), centred at (cx, cy). */
function syncMark(canvas: Canvas, cx: number, cy: number, radius: number, color: Rgba): void {
  const thickness = radius * 0.26;
  const head = radius * 0.42;
  for (const start of [Math.PI * 0.12, Math.PI * 1.12]) {
    const end = start + Math.PI * 0.7;
    canvas.fill(arc(cx, cy, radius, thickness, start, end), color);
    // Arrowhead at the end of the arc, pointing along it (clockwise).
    const tipAngle = end + 0.28;
    const base = [cx + Math.cos(end) * radius, cy + Math.sin(end) * radius];
    const tip: [number, number] = [cx + Math.cos(tipAngle) * radius, cy + Math.sin(tipAngle) * radius];
    const nx = Math.cos(end);
    const ny = Math.sin(end);
    canvas.fill(
      triangle([
        [base[0]! + nx * head * 0.62, base[1]! + ny * head * 0.62],
        [base[0]! - nx * head * 0.62, base[1]! - ny * head * 0.62],
        [tip[0] + (tip[0] - base[0]!) * 0.9, tip[1] + (tip[1] - base[1]!) * 0.9],
      ]),
      color,
    );
  }
}

/** The app icon: the sync mark on a rounded gradient tile. */
function tile(canvas: Canvas, x: number, y: number, size: number): void {
  canvas.fill(roundedRect(x, y, size, size, size * 0.24), linear(x, y, x + size, y + size, COLORS.indigo, COLORS.teal));
  canvas.fill(roundedRect(x, y, size, size * 0.5, size * 0.24), [255, 255, 255, 0.06]);
  syncMark(canvas, x + size / 2, y + size / 2, size * 0.27, COLORS.white);
  canvas.fill(circle(x + size / 2, y + size / 2, size * 0.06), COLORS.white);
}

/** A CRM deal card: header bar, a stage pill and three text lines. */
function dealCard(canvas: Canvas, x: number, y: number, width: number, height: number, accent: Rgba): void {
  canvas.fill(roundedRect(x + width * 0.03, y + height * 0.05, width, height, width * 0.1), [31, 42, 68, 0.12]);
  canvas.fill(roundedRect(x, y, width, height, width * 0.1), COLORS.white);
  canvas.fill(roundedRect(x, y, width, height * 0.26, width * 0.1), accent);
  canvas.fill(roundedRect(x, y + height * 0.16, width, height * 0.1, 0), accent);
  canvas.fill(roundedRect(x + width * 0.12, y + height * 0.38, width * 0.42, height * 0.12, height * 0.06), hex("#dbeafe"));
  for (const [row, length] of [[0.6, 0.76], [0.74, 0.6], [0.86, 0.44]] as const) {
    canvas.fill(roundedRect(x + width * 0.12, y + height * row, width * length, height * 0.06, height * 0.03), hex("#cbd5e1"));
  }
}

function envelope(canvas: Canvas, x: number, y: number, width: number, height: number, color: Rgba): void {
  const stroke = Math.max(2, width * 0.08);
  canvas.fill(roundedRect(x + width * 0.03, y + height * 0.06, width, height, width * 0.12), [31, 42, 68, 0.12]);
  canvas.fill(roundedRect(x, y, width, height, width * 0.12), color);
  canvas.fill(segment(x + width * 0.16, y + height * 0.24, x + width / 2, y + height * 0.58, stroke), COLORS.white);
  canvas.fill(segment(x + width * 0.84, y + height * 0.24, x + width / 2, y + height * 0.58, stroke), COLORS.white);
}

function arrowRight(canvas: Canvas, x: number, y: number, length: number, thickness: number, color: Rgba): void {
  canvas.fill(segment(x, y, x + length - thickness * 1.2, y, thickness), color);
  canvas.fill(
    triangle([
      [x + length - thickness * 2.2, y - thickness * 1.5],
      [x + length, y],
      [x + length - thickness * 2.2, y + thickness * 1.5],
    ]),
    color,
  );
}

// --- images -----------------------------------------------------------------------------------

/** Deal card -> sync tile -> envelope, fitted into a width x height box with a margin. */
function banner(width: number, height: number, margin: number, background: boolean): Canvas {
  const canvas = new Canvas(width, height);
  if (background) {
    canvas.fill(roundedRect(margin, margin, width - 2 * margin, height - 2 * margin, Math.min(width, height) * 0.08), linear(0, 0, width, height, COLORS.mist, hex("#e0f2fe")));
  }
  const inner = Math.min(height - 2 * margin, (width - 2 * margin) / 3.4);
  const unit = inner * 0.78;
  const cy = height / 2;
  const total = unit * 0.8 + unit * 0.45 + unit + unit * 0.45 + unit * 0.86;
  let x = (width - total) / 2;
  dealCard(canvas, x, cy - unit * 0.5, unit * 0.8, unit, COLORS.indigo);
  x += unit * 0.8 + unit * 0.08;
  arrowRight(canvas, x, cy, unit * 0.3, unit * 0.06, COLORS.line);
  x += unit * 0.37;
  tile(canvas, x, cy - unit / 2, unit);
  x += unit + unit * 0.08;
  arrowRight(canvas, x, cy, unit * 0.3, unit * 0.06, COLORS.line);
  x += unit * 0.37;
  envelope(canvas, x, cy - unit * 0.31, unit * 0.86, unit * 0.62, COLORS.teal);
  return canvas;
}

function icon(width: number, height: number, scale = 0.84): Canvas {
  const canvas = new Canvas(width, height);
  const size = Math.min(width, height) * scale;
  tile(canvas, (width - size) / 2, (height - size) / 2, size);
  return canvas;
}

const TOUR = { width: 1188, height: 616 };

/** A browser-like frame with a soft background, shared by the tour slides. */
function tourFrame(): Canvas {
  const canvas = new Canvas(TOUR.width, TOUR.height);
  canvas.fill(roundedRect(0, 0, TOUR.width, TOUR.height, 0), linear(0, 0, TOUR.width, TOUR.height, hex("#eef2ff"), hex("#ecfeff")));
  canvas.fill(circle(1080, 80, 220), [124, 58, 237, 0.07]);
  canvas.fill(circle(90, 560, 180), [14, 165, 164, 0.08]);
  return canvas;
}

function textLine(canvas: Canvas, x: number, y: number, width: number, color: Rgba = hex("#cbd5e1"), height = 12): void {
  canvas.fill(roundedRect(x, y, width, height, height / 2), color);
}

/** Slide 1: the settings, a key field that turned green and stages mapped to lists. */
function tourSettings(): Canvas {
  const canvas = tourFrame();
  canvas.fill(roundedRect(190, 54, 808, 520, 22), [31, 42, 68, 0.1]);
  canvas.fill(roundedRect(184, 46, 808, 520, 22), COLORS.white);
  tile(canvas, 220, 80, 56);
  textLine(canvas, 296, 92, 220, hex("#1f2a44"), 16);
  textLine(canvas, 296, 118, 320);
  // Key field, validated.
  canvas.fill(roundedRect(220, 164, 736, 54, 12), hex("#f0fdf4"));
  canvas.fill(roundedRect(220, 164, 6, 54, 3), COLORS.green);
  canvas.fill(circle(256, 191, 13), COLORS.green);
  canvas.fill(segment(250, 191, 255, 197, 4), COLORS.white);
  canvas.fill(segment(255, 197, 264, 185, 4), COLORS.white);
  textLine(canvas, 284, 185, 180, hex("#166534"));
  // Stage -> list rows.
  const lists = [COLORS.indigo, COLORS.teal, COLORS.violet, COLORS.amber];
  lists.forEach((color, row) => {
    const y = 250 + row * 58;
    canvas.fill(roundedRect(220, y, 736, 46, 10), row % 2 === 0 ? hex("#f8fafc") : COLORS.white);
    canvas.fill(circle(244, y + 23, 7), color);
    textLine(canvas, 262, y + 17, 150 + ((row * 37) % 60), hex("#94a3b8"));
    arrowRight(canvas, 520, y + 23, 60, 4, COLORS.line);
    canvas.fill(roundedRect(612, y + 8, 320, 30, 8), hex("#eef2ff"));
    textLine(canvas, 628, y + 17, 140 + ((row * 53) % 80), color);
  });
  // The Save button at the bottom.
  canvas.fill(roundedRect(816, 548 - 36, 140, 36, 10), COLORS.indigo);
  textLine(canvas, 850, 524, 72, COLORS.white);
  return canvas;
}

/** Slide 2: the deal card pane with a timeline of email events. */
function tourPane(): Canvas {
  const canvas = tourFrame();
  // The CRM card on the left, the pane on the right.
  canvas.fill(roundedRect(120, 60, 560, 500, 20), [31, 42, 68, 0.08]);
  canvas.fill(roundedRect(114, 52, 560, 500, 20), COLORS.white);
  textLine(canvas, 150, 92, 260, hex("#1f2a44"), 18);
  canvas.fill(roundedRect(150, 130, 140, 26, 13), hex("#dbeafe"));
  for (let row = 0; row < 6; row++) {
    textLine(canvas, 150, 190 + row * 50, 120, hex("#cbd5e1"));
    textLine(canvas, 310, 190 + row * 50, 200 + ((row * 41) % 120), hex("#e2e8f0"));
  }
  canvas.fill(roundedRect(722, 60, 360, 500, 20), [31, 42, 68, 0.12]);
  canvas.fill(roundedRect(716, 52, 360, 500, 20), COLORS.white);
  tile(canvas, 740, 74, 40);
  textLine(canvas, 794, 88, 160, hex("#1f2a44"), 14);
  canvas.fill(circle(762, 150, 22), linear(740, 128, 784, 172, COLORS.indigo, COLORS.teal));
  textLine(canvas, 796, 138, 200, hex("#334155"));
  textLine(canvas, 796, 158, 120, COLORS.indigo);
  const events = [COLORS.teal, COLORS.indigo, COLORS.violet, COLORS.teal, COLORS.rose, COLORS.indigo];
  canvas.fill(segment(762, 214, 762, 508, 3), hex("#e2e8f0"));
  events.forEach((color, row) => {
    const y = 214 + row * 58;
    canvas.fill(circle(762, y, 11), color);
    textLine(canvas, 790, y - 12, 180 - ((row * 29) % 70), hex("#475569"));
    textLine(canvas, 790, y + 6, 110, hex("#cbd5e1"), 10);
  });
  return canvas;
}

/** Slide 3: deals flow into Klaviyo lists and events. */
function tourFlow(): Canvas {
  const canvas = tourFrame();
  dealCard(canvas, 130, 190, 190, 236, COLORS.indigo);
  arrowRight(canvas, 350, 308, 130, 10, COLORS.line);
  tile(canvas, 504, 218, 180);
  arrowRight(canvas, 710, 308, 130, 10, COLORS.line);
  envelope(canvas, 868, 240, 190, 136, COLORS.teal);
  for (const [dx, color] of [[0, COLORS.violet], [70, COLORS.amber], [140, COLORS.green]] as const) {
    canvas.fill(roundedRect(868 + dx, 404, 50, 22, 11), color);
  }
  return canvas;
}

const IMAGES: Record<string, () => Canvas> = {
  "logo_main.png": () => banner(400, 272, 10, true),
  "logo_medium.png": () => banner(240, 84, 4, false),
  "logo.png": () => icon(130, 100),
  "logo_small.png": () => icon(108, 108),
  "logo_min.png": () => icon(84, 84, 0.9),
  "tour_1.png": tourSettings,
  "tour_2.png": tourPane,
  "tour_3.png": tourFlow,
};

const directory = path.resolve(__dirname, "..", "widget", "images");
mkdirSync(directory, { recursive: true });
for (const [name, draw] of Object.entries(IMAGES)) {
  const file = path.join(directory, name);
  writeFileSync(file, draw().png());
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}
