// api.js: the page's one way to its data. Served, it calls the JSON API
// under /api/ (docs/ui.md); in a report written by `runs -format=html` the
// same answers are inlined in the page and read from there.

const inline = document.getElementById("magelab-data");
const report = inline ? JSON.parse(inline.textContent) : null;

// isReport says the page is a self-contained report: no server, no live
// updates, no filtering beyond what was written.
export const isReport = report !== null;

// reportStart is the page a report opens on.
export const reportStart = report && report.start;

async function get(path, params) {
  const qs = params ? "?" + new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== "")) : "";
  const res = await fetch("/api" + path + qs, { headers: { Accept: "application/json" } });
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    const e = new Error(body && body.error ? body.error.message : `${res.status} ${res.statusText}`);
    e.code = body && body.error ? body.error.code : "http_" + res.status;
    throw e;
  }
  return body;
}

function fromReport(key) {
  const v = report[key];
  if (v === undefined) {
    const e = new Error("this report does not hold " + key + " (write it with the runs or sweep you want to see)");
    e.code = "not_found";
    throw e;
  }
  return structuredClone(v);
}

// runs lists runs: {where, sort, limit, offset}.
export async function runs(q) {
  if (!isReport) return get("/runs", q);
  const page = fromReport("runs");
  if (q.sort) sortRuns(page.runs, q.sort);
  const off = Number(q.offset || 0), lim = Number(q.limit || 50);
  page.total = page.runs.length;
  page.offset = off;
  page.limit = lim;
  page.runs = page.runs.slice(off, off + lim);
  return page;
}

// sortRuns sorts as the ledger query does: missing values last.
function sortRuns(rows, sort) {
  const desc = sort.startsWith("-");
  const name = sort.replace(/^[-+]/, "");
  const val = (r) => {
    if (name.startsWith("metrics.")) return r.metrics[name.slice(8)];
    if (name.startsWith("params.")) return r.params[name.slice(7)];
    if (name === "sha") return r.git ? r.git.sha : undefined;
    if (name === "duration") return r.duration_s;
    return r[name] ?? r.metrics[name] ?? r.params[name];
  };
  rows.sort((a, b) => {
    const x = val(a), y = val(b);
    if (x === undefined && y === undefined) return 0;
    if (x === undefined) return 1;
    if (y === undefined) return -1;
    const c = x < y ? -1 : x > y ? 1 : 0;
    return desc ? -c : c;
  });
}

export const run = (id) => (isReport ? fromReport("run/" + id) : get("/runs/" + encodeURIComponent(id)));

export const series = (id, width, names) =>
  isReport ? fromReport("series/" + id) : get("/runs/" + encodeURIComponent(id) + "/series", { width, names: names && names.join(",") });

export const gpu = (id, width) => (isReport ? fromReport("gpu/" + id) : get("/runs/" + encodeURIComponent(id) + "/gpu", { width }));

export const sweeps = () => (isReport ? fromReport("sweeps") : get("/sweeps"));

export const sweep = (id) => (isReport ? fromReport("sweep/" + id) : get("/sweeps/" + encodeURIComponent(id)));

// file reads a file of a run's directory as text; tail: its last lines.
export async function file(id, path, tail) {
  if (isReport) return fromReport("file/" + id + "/" + path);
  const qs = tail ? "?tail=" + tail : "";
  const res = await fetch("/api/runs/" + encodeURIComponent(id) + "/files/" + path.split("/").map(encodeURIComponent).join("/") + qs);
  if (!res.ok) {
    const body = await res.json().catch(() => null);
    throw new Error(body && body.error ? body.error.message : res.statusText);
  }
  return res.text();
}

// events opens a server-sent event stream; null in a report.
export function events(path, handlers) {
  if (isReport || typeof EventSource === "undefined") return null;
  const es = new EventSource("/api" + path);
  for (const [name, fn] of Object.entries(handlers)) {
    es.addEventListener(name, (e) => fn(e.data ? JSON.parse(e.data) : null));
  }
  return es;
}
