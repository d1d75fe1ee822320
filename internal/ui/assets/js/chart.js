// chart.js: line, overlay and scatter charts on uPlot (a canvas chart
// library, vendored at a pinned version by scripts/vendor-ui.sh). The
// series come downsampled by the server to about the chart's width.
import uPlot from "uplot";
import { h, fmtNum } from "mlab/dom.js";

export const palette = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777", "#4b5563", "#65a30d"];

export const color = (i) => palette[i % palette.length];

// chartWidth is the pixel width a chart in parent will have: what to ask
// the server to downsample to.
export function chartWidth(parent) {
  return Math.max(280, Math.floor((parent && parent.clientWidth) || 600) - 8);
}

// smooth is TensorBoard's smoothing: an exponential moving average,
// debiased at the start, that steps over gaps.
export function smooth(y, a) {
  if (!a) return y;
  let last = 0, n = 0;
  return y.map((v) => {
    if (v === null || v === undefined || !isFinite(v)) return v;
    last = last * a + (1 - a) * v;
    n++;
    return last / (1 - Math.pow(a, n));
  });
}

// align puts series with their own x values on one x axis, as uPlot wants.
function align(series) {
  if (series.length === 0) return [[]];
  const same = series.every((s) => s.x.length === series[0].x.length && s.x.every((v, i) => v === series[0].x[i]));
  if (same) return [series[0].x, ...series.map((s) => s.y)];
  return uPlot.join(series.map((s) => [s.x, s.y]));
}

// lineChart draws series [{label, x, y}] in a new box appended to parent
// and returns it with update(series) and setSmoothing(a). points: draw
// dots only (a scatter); xlabels: names for integer x values (a
// categorical param).
export function lineChart(parent, opts) {
  const box = h("div", { class: "chart", dataset: { chart: opts.title || "" } });
  const title = h("div", { class: "chart-title" }, opts.title || "");
  box.append(title);
  parent.append(box);
  let raw = opts.series || [];
  let alpha = opts.smoothing || 0;
  const width = opts.width || chartWidth(box);
  const xlabels = opts.xlabels;
  const seriesOpts = (list) => [
    { label: opts.xlabel || "step", value: (u, v) => (v === null || v === undefined ? "" : xlabels ? xlabels[v] ?? "" : fmtNum(v)) },
    ...list.map((s, i) => ({
      label: s.label,
      stroke: s.color || color(i),
      width: 1.5,
      spanGaps: list.length > 1,
      paths: opts.points ? () => null : undefined,
      points: opts.points ? { show: true, size: 7, fill: s.color || color(i), stroke: s.color || color(i) } : { show: false },
      value: (u, v) => (v === null || v === undefined ? "" : fmtNum(v)),
    })),
  ];
  const data = () => {
    const d = align(raw.map((s) => ({ x: s.x, y: alpha ? smooth(s.y, alpha) : s.y })));
    box.dataset.points = String(raw.reduce((n, s) => n + s.y.length, 0));
    return d;
  };
  const make = () =>
    new uPlot(
      {
        width,
        height: opts.height || 220,
        series: seriesOpts(raw),
        scales: { x: { time: false } },
        axes: [
          { label: opts.xlabel || "", values: xlabels ? (u, vals) => vals.map((v) => (Number.isInteger(v) ? xlabels[v] ?? "" : "")) : undefined },
          { label: opts.ylabel || "", size: 60 },
        ],
        legend: { show: raw.length > 1 || opts.legend === true },
        cursor: { drag: { x: true, y: false } },
      },
      data(),
      box,
    );
  let plot = make();
  return {
    box,
    // update replaces the series; a new set of names rebuilds the chart.
    update(series) {
      const rebuild = series.length !== raw.length || series.some((s, i) => s.label !== raw[i].label);
      raw = series;
      if (rebuild) {
        plot.destroy();
        plot = make();
      } else {
        plot.setData(data());
      }
    },
    setSmoothing(a) {
      alpha = a;
      plot.setData(data());
    },
    get series() {
      return raw;
    },
  };
}

// empty is the placeholder where a chart has nothing to draw.
export function empty(parent, text) {
  parent.append(h("p", { class: "muted" }, text));
}
