// parcoords.js: parallel coordinates on a canvas, one vertical axis per
// swept param plus the sweep's metric, one line per trial. Dragging along
// an axis brushes a range; a line shows only while it lies inside every
// brush, and onBrush gets the ids that pass. A click on an axis clears its
// brush. Categorical axes (strings, booleans) space their values evenly.
import { h, fmtNum, fmtValue } from "mlab/dom.js";

const PAD = { top: 34, bottom: 26, side: 60 };
const HIT = 14; // px either side of an axis that start a brush

// axisOf builds an axis from the values rows hold for name.
export function axisOf(name, values, log) {
  const present = values.filter((v) => v !== undefined && v !== null);
  const numeric = present.length > 0 && present.every((v) => typeof v === "number" && isFinite(v));
  if (!numeric) {
    const cats = [...new Set(present.map(fmtValue))].sort();
    return { name, cats, pos: (v) => (v === undefined || v === null ? null : (cats.indexOf(fmtValue(v)) + 0.5) / cats.length), label: (t) => cats[Math.floor(t * cats.length)] };
  }
  let lo = Math.min(...present), hi = Math.max(...present);
  const useLog = (log ?? (lo > 0 && hi / lo >= 100)) && lo > 0;
  const f = useLog ? Math.log10 : (x) => x;
  let a = f(lo), b = f(hi);
  if (a === b) { a -= 0.5; b += 0.5; }
  return { name, lo, hi, log: useLog, pos: (v) => (typeof v === "number" && isFinite(v) ? (f(v) - a) / (b - a) : null) };
}

// parallelCoords draws rows [{id, values: {axis: v}, t}] (t in [0, 1]: the
// colour, 1 the best) over axes in a new canvas appended to parent.
export function parallelCoords(parent, { axes, rows, onBrush, height = 340 }) {
  const wrap = h("div", { class: "parcoords" });
  const canvas = h("canvas", { class: "parcoords-canvas", role: "img", "aria-label": "parallel coordinates: " + axes.map((a) => a.name).join(", ") });
  wrap.append(canvas, h("p", { class: "muted small" }, "Drag along an axis to brush a range; click an axis to clear its brush."));
  parent.append(wrap);
  const width = Math.max(360, parent.clientWidth || 800);
  const dpr = window.devicePixelRatio || 1;
  canvas.width = width * dpr;
  canvas.height = height * dpr;
  canvas.style.width = width + "px";
  canvas.style.height = height + "px";
  const ctx = canvas.getContext("2d");
  ctx.scale(dpr, dpr);
  const xs = axes.map((_, i) => (axes.length === 1 ? width / 2 : PAD.side + (i * (width - 2 * PAD.side)) / (axes.length - 1)));
  const y = (t) => PAD.top + (1 - t) * (height - PAD.top - PAD.bottom);
  const brushes = new Map(); // axis index → [t0, t1]
  canvas.dataset.axisX = xs.map(Math.round).join(",");
  canvas.dataset.top = String(PAD.top);
  canvas.dataset.bottom = String(height - PAD.bottom);
  canvas.dataset.lines = String(rows.length);

  const passes = (r) => {
    for (const [i, [t0, t1]] of brushes) {
      const t = axes[i].pos(r.values[axes[i].name]);
      if (t === null || t < Math.min(t0, t1) || t > Math.max(t0, t1)) return false;
    }
    return true;
  };
  const colorOf = (t) => {
    if (t === null || t === undefined) return "rgba(120,120,120,0.6)";
    const a = [37, 99, 235], b = [220, 38, 38]; // worst blue → best red
    const c = a.map((v, k) => Math.round(v + (b[k] - v) * t));
    return `rgba(${c[0]},${c[1]},${c[2]},0.85)`;
  };

  function draw() {
    ctx.clearRect(0, 0, width, height);
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, width, height);
    const on = rows.filter(passes);
    const off = rows.filter((r) => !passes(r));
    const line = (r, style, lw) => {
      ctx.strokeStyle = style;
      ctx.lineWidth = lw;
      ctx.beginPath();
      let started = false;
      axes.forEach((a, i) => {
        const t = a.pos(r.values[a.name]);
        const yy = t === null ? height - PAD.bottom + 12 : y(t);
        if (!started) ctx.moveTo(xs[i], yy);
        else ctx.lineTo(xs[i], yy);
        started = true;
      });
      ctx.stroke();
    };
    off.forEach((r) => line(r, "rgba(180,180,180,0.35)", 1));
    on.forEach((r) => line(r, colorOf(r.t), 1.8));
    axes.forEach((a, i) => {
      ctx.strokeStyle = "#333";
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.moveTo(xs[i], y(1));
      ctx.lineTo(xs[i], y(0));
      ctx.stroke();
      ctx.fillStyle = "#111";
      ctx.font = "bold 12px system-ui, sans-serif";
      ctx.textAlign = "center";
      ctx.fillText(a.name, xs[i], 14);
      ctx.font = "11px system-ui, sans-serif";
      ctx.fillStyle = "#555";
      if (a.cats) {
        a.cats.forEach((c, k) => ctx.fillText(c, xs[i] + 22, y((k + 0.5) / a.cats.length) + 4));
      } else {
        ctx.fillText(fmtNum(a.hi), xs[i], PAD.top - 6);
        ctx.fillText(fmtNum(a.lo), xs[i], height - PAD.bottom + 14);
      }
      const b = brushes.get(i);
      if (b) {
        ctx.fillStyle = "rgba(37,99,235,0.18)";
        ctx.strokeStyle = "rgba(37,99,235,0.9)";
        const y0 = y(Math.max(b[0], b[1])), y1 = y(Math.min(b[0], b[1]));
        ctx.fillRect(xs[i] - 8, y0, 16, y1 - y0);
        ctx.strokeRect(xs[i] - 8, y0, 16, y1 - y0);
      }
    });
    canvas.dataset.active = String(on.length);
    return on;
  }

  const tAt = (py) => Math.min(1, Math.max(0, 1 - (py - PAD.top) / (height - PAD.top - PAD.bottom)));
  let drag = null;
  canvas.addEventListener("mousedown", (e) => {
    const r = canvas.getBoundingClientRect();
    const px = e.clientX - r.left, py = e.clientY - r.top;
    const i = xs.findIndex((x) => Math.abs(x - px) <= HIT);
    if (i < 0) return;
    drag = { i, t0: tAt(py), moved: false };
    e.preventDefault();
  });
  window.addEventListener("mousemove", (e) => {
    if (!drag) return;
    const r = canvas.getBoundingClientRect();
    const t1 = tAt(e.clientY - r.top);
    if (Math.abs(t1 - drag.t0) > 0.01) drag.moved = true;
    if (drag.moved) {
      brushes.set(drag.i, [drag.t0, t1]);
      draw();
    }
  });
  window.addEventListener("mouseup", () => {
    if (!drag) return;
    if (!drag.moved) brushes.delete(drag.i);
    drag = null;
    const on = draw();
    if (onBrush) onBrush(new Set(on.map((r) => r.id)), brushes.size > 0);
  });
  draw();
  return { canvas, redraw: draw, clear() { brushes.clear(); const on = draw(); if (onBrush) onBrush(new Set(on.map((r) => r.id)), false); } };
}
