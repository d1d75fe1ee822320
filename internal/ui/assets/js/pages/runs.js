// The runs page: the `runs` table, filtered with the -where language,
// sorted by any column, paged; runs selected here open in compare.
import { h, clear, fmtNum, fmtValue, fmtDuration, fmtTime, shortSHA, statusBadge, errorBox, go } from "mlab/dom.js";
import * as api from "mlab/api.js";

const PAGE = 50;

// The fixed columns: header, sort name, cell.
const fixed = {
  id: ["id", "id", (r) => h("a", { href: "#/run/" + encodeURIComponent(r.id), class: "mono" }, r.short)],
  experiment: ["experiment", "experiment", (r) => r.experiment],
  status: ["status", "status", (r) => statusBadge(r.status)],
  started: ["started", "started", (r) => fmtTime(r.started)],
  sha: ["sha", "sha", (r) => h("span", { class: "mono", title: r.git && r.git.branch ? "branch " + r.git.branch : "" }, shortSHA(r.git))],
  duration: ["duration", "duration", (r) => fmtDuration(r.duration_s)],
  gpu: ["gpu", "gpu", (r) => r.gpu || ""],
};

// selected survives paging and filtering, so runs from several pages can
// be compared.
const selected = new Set();

export async function runsPage(ctx) {
  const q = ctx.route.query;
  const state = { where: q.get("where") || "", sort: q.get("sort") || "", offset: Number(q.get("offset") || 0) };
  const input = h("input", { type: "search", id: "where", class: "where", value: state.where, spellcheck: "false", disabled: api.isReport,
    placeholder: api.isReport ? "a report: filter when writing it (runs -where=... -format=html)" : 'val_accuracy>0.9 train.lr=0.01 status=finished' });
  const form = h("form", { class: "filter", onsubmit: (e) => { e.preventDefault(); navigate({ ...state, where: input.value.trim(), offset: 0 }); } },
    h("label", { for: "where" }, "where"), input, h("button", { type: "submit", disabled: api.isReport }, "Filter"),
    h("span", { class: "muted small" }, "operators = != > >= < <= ~ (as ", h("code", {}, "go tool mage runs -where"), ")"));
  const compareBtn = h("button", { id: "compare", class: "primary", onclick: () => go("#/compare/" + [...selected].map(encodeURIComponent).join(",")) });
  const info = h("div", { class: "listing-info" });
  const tableBox = h("div", { class: "table-box" });
  const pager = h("div", { class: "pager" });
  clear(ctx.app, h("h1", {}, "Runs"), form, h("div", { class: "toolbar" }, compareBtn, info), tableBox, pager);

  const updateCompare = () => {
    compareBtn.textContent = `Compare selected (${selected.size})`;
    compareBtn.disabled = selected.size < 2;
  };
  updateCompare();

  async function load() {
    let page;
    try {
      page = await api.runs({ where: state.where, sort: state.sort, limit: PAGE, offset: state.offset });
    } catch (e) {
      clear(tableBox, errorBox(e));
      clear(info);
      clear(pager);
      return;
    }
    render(page);
  }

  function render(page) {
    const cols = [
      fixed.id, fixed.experiment, fixed.status, fixed.started, fixed.sha,
      ...page.params.map((p) => [p, "params." + p, (r) => fmtValue(r.params[p]), "param"]),
      ...page.metrics.map((m) => [m, "metrics." + m, (r) => fmtNum(r.metrics[m]), "metric"]),
      fixed.duration, fixed.gpu,
    ];
    if (page.runs.some((r) => r.reproduces)) {
      cols.push(["reproduces", "", (r) => (r.reproduces ? h("span", {}, h("a", { href: "#/run/" + encodeURIComponent(r.reproduces), class: "mono" }, r.reproduces.slice(-8)), " ", h("span", { class: "verdict verdict-" + r.verdict }, r.verdict || "")) : "")]);
    }
    const sortName = state.sort.replace(/^[-+]/, "");
    const desc = state.sort.startsWith("-");
    const head = h("tr", {}, h("th", { class: "sel" }, ""), cols.map(([label, sort, , kind]) => {
      const mark = sort && sort === sortName ? (desc ? " ▼" : " ▲") : "";
      return h("th", { class: (kind || "") + (sort ? " sortable" : ""), dataset: { sort }, title: sort ? "sort by " + label : "",
        onclick: sort ? () => navigate({ ...state, sort: sort === sortName && !desc ? "-" + sort : sort === sortName ? "" : sort, offset: 0 }) : null }, label + mark);
    }));
    const rows = page.runs.map((r) => {
      const box = h("input", { type: "checkbox", checked: selected.has(r.id), "aria-label": "select " + r.short,
        onchange: (e) => { e.target.checked ? selected.add(r.id) : selected.delete(r.id); updateCompare(); } });
      return h("tr", { dataset: { id: r.id } }, h("td", { class: "sel" }, box), cols.map(([, , cell, kind]) => h("td", { class: kind || "" }, cell(r))));
    });
    clear(tableBox, page.runs.length === 0
      ? h("p", { class: "muted empty" }, state.where ? "no runs match" : "no runs yet: `go tool mage train` records one")
      : h("table", { class: "runs", id: "runs-table" }, h("thead", {}, head), h("tbody", {}, rows)));
    const end = Math.min(page.offset + page.runs.length, page.total);
    clear(info, h("span", { id: "total" }, page.total === 0 ? "0 runs" : `${page.offset + 1}–${end} of ${page.total} runs`),
      (page.warnings || []).map((w) => h("span", { class: "warning" }, w)));
    clear(pager,
      h("button", { disabled: page.offset === 0, onclick: () => navigate({ ...state, offset: Math.max(0, page.offset - PAGE) }) }, "← newer"),
      h("button", { disabled: end >= page.total, onclick: () => navigate({ ...state, offset: page.offset + PAGE }) }, "older →"));
  }

  ctx.onLedger(load);
  await load();
}

function navigate(s) {
  const q = new URLSearchParams();
  if (s.where) q.set("where", s.where);
  if (s.sort) q.set("sort", s.sort);
  if (s.offset) q.set("offset", String(s.offset));
  const qs = q.toString();
  go("#/runs" + (qs ? "?" + qs : ""));
}
