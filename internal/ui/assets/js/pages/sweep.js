// The sweep pages: the list of sweeps, and one sweep: its trials ranked by
// the sweep's metric, parallel coordinates whose brushes filter the table,
// the metric against each param, and the best value so far.
import { h, clear, fmtNum, fmtValue, fmtTime, statusBadge, section, errorBox } from "mlab/dom.js";
import * as api from "mlab/api.js";
import { lineChart, chartWidth } from "mlab/chart.js";
import { parallelCoords, axisOf } from "mlab/parcoords.js";

export async function sweepsPage(ctx) {
  const list = await api.sweeps();
  clear(ctx.app, h("h1", {}, "Sweeps"), list.length === 0
    ? h("p", { class: "muted empty" }, "no sweeps yet: `go tool mage sweep` runs one")
    : h("table", { class: "grid", id: "sweeps-table" },
      h("thead", {}, h("tr", {}, ["sweep", "experiment", "method", "metric", "planned", "started", "state"].map((c) => h("th", {}, c)))),
      h("tbody", {}, list.map((s) => h("tr", {},
        h("td", {}, h("a", { href: "#/sweep/" + encodeURIComponent(s.id), class: "mono" }, s.id)), h("td", {}, s.experiment), h("td", {}, s.method || ""),
        h("td", {}, s.metric ? `${s.metric} ${s.goal === "min" ? "↓" : "↑"}` : ""), h("td", { class: "num" }, s.planned || ""),
        h("td", {}, fmtTime(s.started)), h("td", {}, s.finished ? "finished" : "running or stopped"))))));
  ctx.onLedger(() => sweepsPage(ctx));
}

export async function sweepPage(ctx) {
  const s = await api.sweep(ctx.route.arg);
  const metric = s.metric;
  const pcBox = h("div", { id: "parcoords" });
  const tableBox = h("div", { class: "table-box" });
  const scatter = h("div", { class: "charts", id: "scatter" });
  const bestBox = h("div", { class: "charts", id: "best-so-far" });
  const count = h("span", { id: "shown" });
  clear(ctx.app,
    h("h1", {}, "Sweep ", h("span", { class: "mono" }, s.id)),
    h("p", { class: "muted" }, `${s.experiment} · ${s.method || "grid"} · ${s.trials.length} trial run(s)`, s.planned ? ` of ${s.planned} planned` : "",
      metric ? [" · ranked by ", h("b", {}, metric), s.goal === "min" ? " (lower is better)" : " (higher is better)"] : " · no metric to rank by"),
    section("Parallel coordinates", pcBox),
    section("Trials", h("div", { class: "toolbar" }, count), tableBox),
    section(metric ? `${metric} against each param` : "Params", scatter),
    metric ? section("Best so far", bestBox) : null);

  const renderTable = (keep) => {
    const shown = s.trials.filter((t) => !keep || keep.has(t.id));
    count.textContent = keep ? `${shown.length} of ${s.trials.length} trials in the brushed ranges` : `${s.trials.length} trials`;
    clear(tableBox, h("table", { class: "grid", id: "trials-table" },
      h("thead", {}, h("tr", {}, ["rank", "run", "status", ...s.params, metric || ""].map((c) => h("th", {}, c)))),
      h("tbody", {}, shown.map((t) => h("tr", { dataset: { id: t.id }, class: t.rank === 1 ? "best" : "" },
        h("td", { class: "num" }, t.rank || ""), h("td", {}, h("a", { href: "#/run/" + encodeURIComponent(t.id), class: "mono" }, t.short)),
        h("td", {}, statusBadge(t.status)), s.params.map((p) => h("td", {}, fmtValue(t.params[p]))),
        h("td", { class: "num" }, fmtNum(t.value)))))));
  };
  renderTable(null);

  const logs = logParams(s.spec);
  const axes = s.params.map((p) => axisOf(p, s.trials.map((t) => t.params[p]), logs.has(p) || undefined));
  if (metric) axes.push(axisOf(metric, s.trials.map((t) => t.value)));
  const values = s.trials.filter((t) => t.value !== null).map((t) => t.value);
  const lo = Math.min(...values), hi = Math.max(...values);
  const tOf = (v) => (v === null ? null : hi === lo ? 1 : s.goal === "min" ? (hi - v) / (hi - lo) : (v - lo) / (hi - lo));
  if (axes.length === 0) pcBox.append(h("p", { class: "muted" }, "no swept params recorded"));
  else parallelCoords(pcBox, {
    axes,
    rows: s.trials.map((t) => ({ id: t.id, values: { ...t.params, [metric]: t.value }, t: tOf(t.value) })),
    onBrush: (keep, any) => renderTable(any ? keep : null),
  });

  if (metric) {
    const width = chartWidth(scatter) / 2 - 12;
    for (const p of s.params) {
      const ax = axisOf(p, s.trials.map((t) => t.params[p]));
      const pts = s.trials.filter((t) => t.value !== null && t.params[p] !== undefined)
        .map((t) => [ax.cats ? ax.cats.indexOf(fmtValue(t.params[p])) : t.params[p], t.value]).sort((a, b) => a[0] - b[0]);
      lineChart(scatter, { title: `${metric} vs ${p}`, xlabel: p, width, points: true, xlabels: ax.cats,
        series: [{ label: metric, x: pts.map((q) => q[0]), y: pts.map((q) => q[1]) }] });
    }
    if (s.best_so_far.length) {
      lineChart(bestBox, { title: `best ${metric} so far`, xlabel: "trial (in the order they started)", width: chartWidth(bestBox) - 12,
        series: [{ label: "best", x: s.best_so_far.map((b) => b.trial), y: s.best_so_far.map((b) => b.value) }] });
    } else bestBox.append(h("p", { class: "muted" }, "no trial has the metric yet"));
  }
  ctx.onLedger(() => sweepPage(ctx).catch((e) => clear(ctx.app, errorBox(e))));
}

// logParams are the swept params the spec samples log-uniformly.
function logParams(spec) {
  const out = new Set();
  for (const [k, v] of Object.entries((spec && spec.parameters) || {})) {
    if (v && typeof v === "object" && !Array.isArray(v) && (v.log || v.distribution === "log_uniform")) out.add(k);
  }
  return out;
}
