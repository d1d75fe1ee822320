// The live page: the runs still running, each with its curves growing as
// the server streams its new points, and new runs as they start.
import { h, clear, fmtTime, statusBadge } from "mlab/dom.js";
import * as api from "mlab/api.js";
import { lineChart, chartWidth } from "mlab/chart.js";

export async function livePage(ctx) {
  const list = h("div", { id: "live-runs" });
  const note = h("p", { class: "muted" });
  clear(ctx.app, h("h1", {}, "Live"), note, list);
  if (api.isReport) {
    note.textContent = "a report is a snapshot: serve the ledger with `go tool mage ui` to follow running runs";
    return;
  }
  const streams = new Map(); // run id → {es, card}
  ctx.onCleanup(() => streams.forEach((s) => s.es && s.es.close()));

  async function refresh() {
    const page = await api.runs({ where: "status=running", limit: 20 });
    note.textContent = page.total ? `${page.total} run(s) running` : "no run is running: start one (go tool mage train) and it appears here";
    const ids = new Set(page.runs.map((r) => r.id));
    for (const [id, s] of streams) {
      if (!ids.has(id)) {
        s.es && s.es.close();
        s.card.classList.add("ended");
      }
    }
    for (const r of page.runs) if (!streams.has(r.id)) streams.set(r.id, follow(r));
  }

  function follow(r) {
    const charts = h("div", { class: "charts" });
    const status = h("span", {}, statusBadge(r.status));
    const card = h("div", { class: "live-card", dataset: { id: r.id } },
      h("h2", {}, h("a", { href: "#/run/" + encodeURIComponent(r.id), class: "mono" }, r.short), " ", status, " ",
        h("span", { class: "muted small" }, `${r.experiment} · started ${fmtTime(r.started)}`)), charts);
    list.prepend(card);
    const width = chartWidth(list) / 2 - 12;
    const byName = new Map();
    const put = (s, replace) => {
      let c = byName.get(s.name);
      if (!c) {
        c = { x: [], y: [], chart: null };
        byName.set(s.name, c);
      }
      if (replace) { c.x = s.x.slice(); c.y = s.y.slice(); } else { c.x.push(...s.x); c.y.push(...s.y); }
      const series = [{ label: s.name, x: c.x, y: c.y }];
      if (!c.chart) c.chart = lineChart(charts, { title: s.name, width, height: 160, series });
      else c.chart.update(series);
    };
    const es = api.events("/runs/" + encodeURIComponent(r.id) + "/events?width=" + width, {
      series: (ev) => ev.series.forEach((s) => put(s, true)),
      points: (ev) => ev.series.forEach((s) => put(s, false)),
      status: (ev) => clear(status, statusBadge(ev.status)),
      end: () => { es.close(); card.classList.add("ended"); },
    });
    return { es, card };
  }

  ctx.onLedger(refresh);
  await refresh();
}
