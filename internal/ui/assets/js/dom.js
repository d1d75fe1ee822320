// dom.js: building elements node by node, never from markup. Every value from a run
// (names, params, log lines, patch text) goes in as text, so it is shown,
// never parsed as markup.

// h makes an element: h("a", {href: "#/x", class: "c"}, "text", child, ...).
// Attributes named on* are refused: no handler comes from a string.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) {
      if (typeof v === "function") el.addEventListener(k.slice(2), v);
      continue;
    }
    if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "checked" || k === "value" || k === "disabled") el[k] = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// clear empties el and fills it with children.
export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// fmtNum shows a number with 4 significant digits, like the terminal table.
export function fmtNum(v) {
  if (v === undefined || v === null) return "";
  if (typeof v !== "number") return String(v);
  if (!isFinite(v)) return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e6) return String(v);
  const s = v.toPrecision(4);
  return String(Number(s)) === s ? s : String(Number(s));
}

// fmtValue shows a param value as YAML would.
export function fmtValue(v) {
  if (v === undefined) return "";
  if (v === null) return "null";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

export function fmtDuration(sec) {
  if (!sec || sec <= 0) return "";
  if (sec < 60) return sec.toFixed(1) + "s";
  if (sec < 3600) return Math.floor(sec / 60) + "m" + String(Math.round(sec % 60)).padStart(2, "0") + "s";
  const m = Math.round(sec / 60);
  return Math.floor(m / 60) + "h" + String(m % 60).padStart(2, "0") + "m";
}

export function fmtTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (isNaN(d)) return "";
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

export function fmtBytes(n) {
  if (!n) return "";
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + " " + u[i];
}

export function shortSHA(git) {
  if (!git || !git.sha) return "";
  return git.sha.slice(0, 7) + (git.dirty ? "*" : "");
}

export function statusBadge(status) {
  return h("span", { class: "status status-" + String(status).replace(/[^a-z]/g, "") }, status);
}

// section is a titled block.
export function section(title, ...children) {
  return h("section", { class: "block" }, h("h2", {}, title), ...children);
}

// kvTable is a two-column table of [name, value] rows.
export function kvTable(rows, cls) {
  return h("table", { class: "kv " + (cls || "") },
    h("tbody", {}, rows.filter((r) => r[1] !== undefined && r[1] !== "" && r[1] !== null)
      .map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, v)))));
}

export function errorBox(err) {
  return h("div", { class: "error", role: "alert" }, err && err.message ? err.message : String(err));
}

// parseHash splits "#/page/arg?x=1" into its route, argument and query.
export function parseHash(hash) {
  const raw = (hash || "").replace(/^#\/?/, "");
  const [path, qs] = raw.split("?", 2);
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { page: parts[0] || "runs", arg: parts.slice(1).join("/"), query: new URLSearchParams(qs || "") };
}

export function go(hash) {
  if (location.hash !== hash) location.hash = hash;
}
