// main.js: the page's router. The address's hash names the page:
// #/runs?where=&sort=&offset=, #/run/ID, #/compare/ID,ID, #/sweeps,
// #/sweep/ID, #/live.
import { clear, errorBox, parseHash, h } from "mlab/dom.js";
import { isReport, reportStart, events } from "mlab/api.js";
import { runsPage } from "mlab/pages/runs.js";
import { runPage } from "mlab/pages/run.js";
import { comparePage } from "mlab/pages/compare.js";
import { sweepsPage, sweepPage } from "mlab/pages/sweep.js";
import { livePage } from "mlab/pages/live.js";

const pages = { runs: runsPage, run: runPage, compare: comparePage, sweeps: sweepsPage, sweep: sweepPage, live: livePage };

// Every page gets a context whose cleanups run when the page is left, so
// streams opened for it close.
let cleanups = [];

// ledgerListeners hear that the ledger grew (one stream for the page).
const ledgerListeners = new Set();

async function route() {
  cleanups.forEach((f) => f());
  cleanups = [];
  ledgerListeners.clear();
  const r = parseHash(location.hash);
  const app = document.getElementById("app");
  document.querySelectorAll("[data-nav]").forEach((a) => a.classList.toggle("active", a.dataset.nav === r.page || (r.page === "run" && a.dataset.nav === "runs") || (r.page === "compare" && a.dataset.nav === "runs") || (r.page === "sweep" && a.dataset.nav === "sweeps")));
  const page = pages[r.page];
  if (!page) {
    clear(app, errorBox("no page " + r.page));
    return;
  }
  clear(app, h("p", { class: "muted" }, "Loading…"));
  const ctx = {
    app,
    route: r,
    onCleanup: (f) => cleanups.push(f),
    onLedger: (f) => ledgerListeners.add(f),
  };
  try {
    await page(ctx);
    app.dataset.page = r.page;
  } catch (e) {
    clear(app, errorBox(e));
    app.dataset.page = r.page;
  }
}

function connectLedger() {
  const dot = document.getElementById("live-dot");
  if (isReport) {
    dot.title = "a report written by runs -format=html: no live updates";
    dot.classList.add("off");
    return;
  }
  let timer = null;
  const es = events("/events", {
    ledger: () => {
      clearTimeout(timer);
      timer = setTimeout(() => ledgerListeners.forEach((f) => f()), 150);
    },
  });
  if (!es) return;
  es.onopen = () => dot.classList.add("on");
  es.onerror = () => dot.classList.remove("on");
  ledgerStream = es;
}

// A browser opens at most six connections to one server (HTTP/1.1), and
// each stream holds one: pages kept for going back, and tabs in the
// background, would hold theirs, and the seventh page stalled for about a
// minute (seen in bench/ui). So a page that is left or hidden closes its
// streams, and one shown again reconnects and redraws.
let ledgerStream = null;

function disconnect() {
  if (ledgerStream) ledgerStream.close();
  ledgerStream = null;
  cleanups.forEach((f) => f());
  cleanups = [];
}

function reconnect() {
  if (ledgerStream || isReport) return;
  connectLedger();
  route();
}

window.addEventListener("pagehide", disconnect);
window.addEventListener("pageshow", (e) => { if (e.persisted) reconnect(); });
document.addEventListener("visibilitychange", () => (document.visibilityState === "hidden" ? disconnect() : reconnect()));

if (isReport) {
  document.body.classList.add("report");
  if (!location.hash && reportStart) history.replaceState(null, "", reportStart);
}
window.addEventListener("hashchange", route);
connectLedger();
route();
