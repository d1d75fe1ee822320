// The compare page: runs side by side (a "differences only" switch, rows
// that differ marked), and their curves overlaid per metric with a
// smoothing control.
import { h, clear, fmtNum, fmtValue, fmtDuration, fmtTime, shortSHA, statusBadge, section } from "mlab/dom.js";
import * as api from "mlab/api.js";
import { lineChart, chartWidth, color } from "mlab/chart.js";

export async function comparePage(ctx) {
  const ids = ctx.route.arg.split(",").filter(Boolean);
  if (ids.length < 2) throw new Error("compare wants two runs or more: select them on the runs page");
  const details = await Promise.all(ids.map((id) => api.run(id)));
  const diffOnly = h("input", { type: "checkbox", id: "diff-only", checked: ctx.route.query.get("diff") === "1" });
  const smoothing = h("input", { type: "range", id: "smoothing", min: "0", max: "0.99", step: "0.01", value: "0" });
  const smoothVal = h("span", { class: "mono" }, "0.00");
  const tableBox = h("div", { class: "table-box" });
  const charts = h("div", { class: "charts", id: "overlay" });
  clear(ctx.app,
    h("h1", {}, `Compare ${details.length} runs`),
    h("div", { class: "toolbar" }, h("label", {}, diffOnly, " differences only")),
    tableBox,
    section("Curves", h("div", { class: "toolbar" }, h("label", { for: "smoothing" }, "smoothing "), smoothing, " ", smoothVal), charts));

  const rows = compareRows(details);
  const renderTable = () => {
    let shown = diffOnly.checked ? rows.filter((r) => r.differs || r.always) : rows;
    shown = shown.filter((r, i) => !r.title || (shown[i + 1] && !shown[i + 1].title));
    clear(tableBox, h("table", { class: "grid compare", id: "compare-table" },
      h("thead", {}, h("tr", {}, h("th", {}, ""), details.map((d, i) => h("th", {}, h("span", { class: "swatch", style: "background:" + color(i) }), h("a", { href: "#/run/" + encodeURIComponent(d.run.id), class: "mono" }, d.short))))),
      h("tbody", {}, shown.map((r) => r.title
        ? h("tr", { class: "group" }, h("th", { colspan: String(details.length + 1) }, r.title))
        : h("tr", { class: r.differs ? "differs" : "", dataset: { row: r.name } }, h("th", {}, r.differs ? "* " : "", r.name), r.cells.map((c) => h("td", {}, c)))))));
  };
  diffOnly.addEventListener("change", renderTable);
  renderTable();

  // Curves: every metric any of them logged, one chart each, a line per run.
  const width = chartWidth(charts) / 2 - 12;
  const all = await Promise.all(details.map((d) => (d.series.length ? api.series(d.run.id, width) : { series: [] })));
  const names = [...new Set(all.flatMap((a) => a.series.map((s) => s.name)))].sort();
  if (names.length === 0) charts.append(h("p", { class: "muted" }, "none of these runs logged step metrics"));
  const drawn = names.map((name) => lineChart(charts, {
    title: name, width, legend: true,
    series: all.map((a, i) => {
      const s = a.series.find((x) => x.name === name);
      return s ? { label: details[i].short, color: color(i), x: s.x, y: s.y } : null;
    }).filter(Boolean),
  }));
  smoothing.addEventListener("input", () => {
    const a = Number(smoothing.value);
    smoothVal.textContent = a.toFixed(2);
    drawn.forEach((c) => c.setSmoothing(a));
  });
}

// compareRows lays the runs out as rows of cells, by group; a row differs
// when its cells are not all the same.
function compareRows(details) {
  const rows = [];
  const add = (name, cells, always) => {
    const texts = cells.map((c) => (c instanceof Node ? c.textContent : String(c ?? "")));
    rows.push({ name, cells, differs: texts.some((t) => t !== texts[0]), always });
  };
  const runs = details.map((d) => d.run);
  rows.push({ title: "run", always: true });
  add("experiment", runs.map((r) => r.experiment));
  add("status", runs.map((r) => statusBadge(r.status)));
  add("started", runs.map((r) => fmtTime(r.started)));
  add("duration", runs.map((r) => fmtDuration(r.duration_s)));
  add("sha", runs.map((r) => shortSHA(r.git)));
  add("branch", runs.map((r) => (r.git && r.git.branch) || ""));
  rows.push({ title: "params", always: true });
  const flat = runs.map((r) => flatten(r.params || {}));
  [...new Set(flat.flatMap((f) => Object.keys(f)))].sort().forEach((k) => add(k, flat.map((f) => (k in f ? fmtValue(f[k]) : "-"))));
  rows.push({ title: "metrics", always: true });
  const ms = details.map((d) => Object.fromEntries(d.metrics.map((m) => [m.name, m])));
  [...new Set(ms.flatMap((m) => Object.keys(m)))].sort().forEach((k) => {
    add(k, ms.map((m) => (m[k] ? fmtNum(m[k].final) : "-")));
    if (ms.some((m) => m[k] && m[k].points > 1)) add(k + " (best)", ms.map((m) => (m[k] && m[k].best !== undefined ? `${fmtNum(m[k].best)} @ ${fmtNum(m[k].best_step)}` : "-")));
  });
  rows.push({ title: "environment", always: true });
  add("python", runs.map((r) => (r.env && r.env.python_version) || ""));
  add("host", runs.map((r) => (r.env && r.env.hostname) || ""));
  add("gpu", runs.map((r) => (r.gpu && r.gpu.devices ? r.gpu.devices.map((g) => g.name).join(", ") : "")));
  add("requirements", runs.map((r) => (r.env && r.env.requirements_hash ? r.env.requirements_hash.slice(0, 12) : "")));
  // Group titles stay when "differences only" hides every row under them
  // only if some row below differs.
  return rows.filter((r, i) => !r.title || rows.slice(i + 1).some((x) => !x.title));
}

function flatten(obj, prefix = "", out = {}) {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? prefix + "." + k : k;
    if (v && typeof v === "object" && !Array.isArray(v)) flatten(v, key, out);
    else out[key] = v;
  }
  return out;
}
