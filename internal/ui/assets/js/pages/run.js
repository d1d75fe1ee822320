// The run page: one run's record (params, metrics with last/min/max/best,
// stages, git with the recorded patch, env and packages, logs) and its
// step curves and GPU telemetry; a running run updates live.
import { h, clear, fmtNum, fmtValue, fmtDuration, fmtTime, fmtBytes, statusBadge, section, kvTable, errorBox } from "mlab/dom.js";
import * as api from "mlab/api.js";
import { lineChart, chartWidth, empty } from "mlab/chart.js";
import { diffView } from "mlab/diff.js";

const LOG_LINES = 200;
const MAX_CHARTS = 24;

export async function runPage(ctx) {
  const d = await api.run(ctx.route.arg);
  const r = d.run;
  const charts = h("div", { class: "charts", id: "curves" });
  const gpuBox = h("div", { class: "charts", id: "gpu-charts" });
  const logBox = h("div", { class: "logs" });
  clear(ctx.app,
    header(d),
    (d.warnings || []).map((w) => h("p", { class: "warning" }, w)),
    h("div", { class: "cols" },
      section("Summary", summary(d)),
      section("Params", paramsTable(r.params))),
    section("Metrics", metricsTable(d.metrics)),
    section("Curves", charts),
    d.gpu_samples ? section("GPU", gpuBox) : null,
    section("Stages", stagesTable(r.stages || [])),
    section("Git", gitBlock(d)),
    section("Environment", envBlock(d)),
    section("Logs", logBox));

  const width = chartWidth(charts) / 2 - 12;
  const byName = new Map();
  const draw = (series) => {
    clear(charts);
    byName.clear();
    if (series.length === 0) return empty(charts, "no step metrics logged (out/metrics.jsonl: lab.log(out, step, name=value))");
    for (const s of series.slice(0, MAX_CHARTS)) {
      byName.set(s.name, { x: s.x.slice(), y: s.y.slice(), chart: lineChart(charts, { title: s.name, width, series: [{ label: s.name, x: s.x, y: s.y }] }) });
    }
    if (series.length > MAX_CHARTS) charts.append(h("p", { class: "muted" }, `${series.length - MAX_CHARTS} more series not drawn`));
  };

  const logs = logPanel(logBox, d);
  if (r.status === "running" && !api.isReport) {
    ctx.app.dataset.live = "true";
    const es = api.events("/runs/" + encodeURIComponent(r.id) + "/events?width=" + width, {
      series: (ev) => draw(ev.series),
      points: (ev) => {
        for (const s of ev.series) {
          const c = byName.get(s.name);
          if (!c) { draw([...[...byName].map(([name, v]) => ({ name, x: v.x, y: v.y })), s]); continue; }
          c.x.push(...s.x);
          c.y.push(...s.y);
          c.chart.update([{ label: s.name, x: c.x, y: c.y }]);
        }
      },
      log: (ev) => logs.append(ev.name, ev.text),
      status: () => setTimeout(() => window.dispatchEvent(new HashChangeEvent("hashchange")), 300),
      end: () => es && es.close(),
    });
    if (es) ctx.onCleanup(() => es.close());
  } else {
    const s = d.series.length ? await api.series(r.id, width) : { series: [] };
    draw(s.series);
  }
  if (d.gpu_samples) await gpuCharts(gpuBox, r.id, width);
  await logs.load();
}

function header(d) {
  const r = d.run;
  return h("div", { class: "run-head" },
    h("h1", {}, "Run ", h("span", { class: "mono", id: "run-id", title: r.id }, d.short), " ", statusBadge(r.status)),
    h("p", { class: "muted" }, r.experiment,
      d.sweep ? [" · sweep ", h("a", { href: "#/sweep/" + encodeURIComponent(d.sweep.id), class: "mono" }, d.sweep.id)] : null,
      r.reproduces ? [" · reproduces ", h("a", { href: "#/run/" + encodeURIComponent(r.reproduces), class: "mono" }, r.reproduces.slice(-8)), " ", h("span", { class: "verdict verdict-" + r.verdict }, r.verdict || "")] : null));
}

function summary(d) {
  const r = d.run;
  return kvTable([
    ["id", h("span", { class: "mono" }, r.id)],
    ["status", r.exit_code ? `${r.status} (exit ${r.exit_code})` : r.status],
    ["error", r.error],
    ["started", fmtTime(r.started)],
    ["duration", fmtDuration(r.duration_s)],
    ["experiment", r.experiment_file ? `${r.experiment} (${r.experiment_file})` : r.experiment],
    ["key", r.key ? h("span", { class: "mono" }, r.key.slice(0, 12)) : ""],
    ["host", r.process && r.process.host],
    ["gpu", r.gpu && r.gpu.devices ? r.gpu.devices.map((g) => g.name).join(", ") : ""],
    ["warnings", (r.warnings || []).join("; ")],
  ]);
}

function paramsTable(params) {
  const flat = [];
  const walk = (prefix, v) => {
    if (v && typeof v === "object" && !Array.isArray(v)) Object.keys(v).sort().forEach((k) => walk(prefix ? prefix + "." + k : k, v[k]));
    else flat.push([prefix, fmtValue(v)]);
  };
  walk("", params || {});
  return flat.length ? kvTable(flat, "params") : h("p", { class: "muted" }, "no params");
}

function metricsTable(ms) {
  if (!ms.length) return h("p", { class: "muted" }, "no metrics");
  return h("table", { class: "grid metrics", id: "metrics-table" },
    h("thead", {}, h("tr", {}, ["metric", "final", "last", "min", "max", "best", "best step", "steps"].map((c) => h("th", {}, c)))),
    h("tbody", {}, ms.map((m) => h("tr", {},
      h("th", {}, m.name, h("span", { class: "muted small" }, m.goal === "min" ? " ↓" : " ↑")),
      [m.final, m.last, m.min, m.max, m.best].map((v) => h("td", { class: "num" }, fmtNum(v))),
      h("td", { class: "num" }, fmtNum(m.best_step)), h("td", { class: "num" }, m.points || "")))));
}

function stagesTable(stages) {
  if (!stages.length) return h("p", { class: "muted" }, "no stages recorded");
  return h("table", { class: "grid", id: "stages-table" },
    h("thead", {}, h("tr", {}, ["stage", "cached", "started", "took", "exit", "peak RSS", "CPU"].map((c) => h("th", {}, c)))),
    h("tbody", {}, stages.map((s) => {
      const took = s.started && s.ended ? (new Date(s.ended) - new Date(s.started)) / 1000 : 0;
      return h("tr", { class: s.exit_code ? "failed" : "" }, h("th", {}, s.name), h("td", {}, s.cached ? "cached" : "ran"),
        h("td", {}, fmtTime(s.started)), h("td", { class: "num" }, s.cached ? "" : fmtDuration(took)),
        h("td", { class: "num" }, s.signal ? s.signal : String(s.exit_code)), h("td", { class: "num" }, fmtBytes(s.max_rss_bytes)),
        h("td", { class: "num" }, s.user_s ? fmtDuration((s.user_s || 0) + (s.sys_s || 0)) : ""));
    })));
}

function gitBlock(d) {
  const g = d.run.git;
  if (!g) return h("p", { class: "muted" }, "not a git repository");
  const patchBox = h("div", { id: "patch" });
  const hasPatch = d.files.some((f) => f.name === "git.patch");
  if (hasPatch) {
    api.file(d.run.id, "git.patch").then((t) => clear(patchBox, diffView(t))).catch((e) => clear(patchBox, errorBox(e)));
  }
  return h("div", {},
    kvTable([
      ["sha", h("span", { class: "mono" }, (g.sha || "") + (g.dirty ? " (dirty)" : ""))],
      ["branch", g.branch], ["remote", g.remote],
      ["flags", [g.shallow && "shallow clone", g.worktree && "linked worktree"].filter(Boolean).join(", ")],
      ["patch", g.patch_incomplete ? "incomplete: " + g.patch_incomplete : hasPatch ? "git.patch (below)" : g.dirty ? "" : "clean tree"],
    ]),
    g.untracked && g.untracked.length ? h("details", {}, h("summary", {}, `${g.untracked.length} untracked file(s)`),
      h("ul", { class: "mono small" }, g.untracked.map((u) => h("li", {}, `${u.path} (${fmtBytes(u.size) || "0 B"}${u.saved ? ", saved" : ", listed only"})`)))) : null,
    patchBox);
}

function envBlock(d) {
  const e = d.run.env || {};
  const pkgs = h("pre", { class: "small", id: "packages" });
  const hasFreeze = d.files.some((f) => f.name === "pip-freeze.txt");
  const det = h("details", {}, h("summary", {}, "packages (pip freeze)"), pkgs);
  if (hasFreeze) det.addEventListener("toggle", () => { if (det.open && !pkgs.textContent) api.file(d.run.id, "pip-freeze.txt").then((t) => { pkgs.textContent = t; }).catch((err) => { pkgs.textContent = err.message; }); }, { once: false });
  const fw = d.run.framework || {};
  return h("div", {},
    kvTable([
      ["python", [e.python_version, e.python].filter(Boolean).join(" ")], ["requirements", e.requirements_hash ? e.requirements_hash.slice(0, 12) : ""],
      ["os", [e.os, e.kernel].filter(Boolean).join(" ")], ["cpu", e.cpu ? `${e.cpu} (${e.cores} cores)` : ""], ["ram", fmtBytes(e.ram_bytes)],
      ["hostname", e.hostname], ["magelab", e.magelab],
      ...Object.keys(e.vars || {}).sort().map((k) => [k, e.vars[k]]),
      ...Object.keys(fw).sort().map((k) => [k, fmtValue(fw[k])]),
    ]),
    hasFreeze ? det : null);
}

// logPanel shows the end of each log, with new lines appended live.
function logPanel(box, d) {
  const pres = new Map();
  const tabs = h("div", { class: "tabs" });
  const body = h("div", {});
  clear(box, d.logs.length ? [tabs, body] : h("p", { class: "muted" }, "no logs"));
  const show = (name) => {
    for (const [n, p] of pres) p.hidden = n !== name;
    tabs.querySelectorAll("button").forEach((b) => b.classList.toggle("active", b.dataset.name === name));
  };
  const ensure = (name) => {
    if (!pres.has(name)) {
      const pre = h("pre", { class: "log", dataset: { name } });
      pres.set(name, pre);
      body.append(pre);
      tabs.append(h("button", { dataset: { name }, onclick: () => show(name) }, name));
      if (pres.size === 1) show(name);
    }
    return pres.get(name);
  };
  d.logs.forEach((f) => ensure(f.name));
  return {
    async load() {
      await Promise.all(d.logs.map(async (f) => {
        const pre = ensure(f.name);
        if (pre.textContent) return;
        try {
          pre.textContent = await api.file(d.run.id, f.path, LOG_LINES);
        } catch (e) {
          pre.textContent = e.message;
        }
      }));
      const train = d.logs.find((f) => f.name.startsWith("train"));
      if (train) show(train.name);
    },
    append(name, text) {
      const pre = ensure(name);
      pre.textContent += text;
      const lines = pre.textContent.split("\n");
      if (lines.length > 2000) pre.textContent = lines.slice(-2000).join("\n");
      pre.scrollTop = pre.scrollHeight;
    },
  };
}

async function gpuCharts(box, id, width) {
  let ans;
  try {
    ans = await api.gpu(id, width);
  } catch (e) {
    clear(box, errorBox(e));
    return;
  }
  const units = { utilization_gpu_pct: "utilisation %", memory_used_mib: "memory MiB", power_w: "power W" };
  const byName = new Map();
  for (const s of ans.series) {
    if (!byName.has(s.name)) byName.set(s.name, []);
    byName.get(s.name).push({ label: "GPU " + s.device, x: s.x, y: s.y });
  }
  if (byName.size === 0) return empty(box, "no GPU samples");
  for (const [name, series] of byName) lineChart(box, { title: units[name] || name, xlabel: "seconds", width, series, legend: true });
}
