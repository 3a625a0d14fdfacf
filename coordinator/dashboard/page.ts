/**
 * The dashboard's one page: it loads GET /dashboard/state, then follows GET /dashboard/events,
 * drawing the learning curves, a round's time broken down, bytes per round and (with DP) ε with
 * uPlot (served from the package, no network), and the clients table. Every value a peer chose
 * (client names, failure reasons) is set as text, never as markup.
 */
/** The page's own script: the CSP names it by its hash (routes.ts). */
export const DASHBOARD_SCRIPT = `
"use strict";
const COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"];
const fed = (r, metric) => (r.federated && r.federated.metrics ? r.federated.metrics[metric] : null);
const CHARTS = {
  accuracy: [["central test", (r) => r.accuracy], ["federated (clients' hold-outs)", (r) => fed(r, "accuracy")], ["clients' training", (r) => r.trainAccuracy]],
  loss: [["central test", (r) => r.loss], ["federated (clients' hold-outs)", (r) => fed(r, "loss")], ["clients' training", (r) => r.trainLoss]],
  timings: [
    ["collect", (r) => r.timings.collect], ["slowest client's training", (r) => r.timings.slowestClientTrain], ["aggregate", (r) => r.timings.aggregate],
    ["evaluate", (r) => r.timings.evaluate], ["federated evaluation", (r) => r.timings.federatedEvaluate], ["whole round", (r) => r.seconds],
  ],
  bytes: [["received", (r) => r.bytesIn / 1e6], ["sent", (r) => r.bytesOut / 1e6]],
  privacy: [["ε", (r) => r.epsilon == null ? null : r.epsilon]],
};
/** Charts whose values start at zero (seconds, bytes, ε): their axis does too. */
const FROM_ZERO = new Set(["timings", "bytes", "privacy"]);
const rounds = [];
const plots = {};
const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : null);

function draw() {
  for (const [id, series] of Object.entries(CHARTS)) {
    const data = [rounds.map((r) => r.round), ...series.map(([, get]) => rounds.map((r) => num(get(r))))];
    if (plots[id]) { plots[id].setData(data); continue; }
    const el = document.getElementById(id);
    const opts = {
      width: Math.max(480, el.parentElement.clientWidth - 24), height: 240,
      scales: { x: { time: false }, ...(FROM_ZERO.has(id) ? { y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] } } : {}) },
      // rounds are whole: no tick between two
      axes: [{ label: "round", incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000] }, {}],
      series: [{ label: "round" }, ...series.map(([label], i) => ({ label, stroke: COLORS[i % COLORS.length], width: 2, points: { size: 5 } }))],
    };
    plots[id] = new uPlot(opts, data, el);
  }
  const dp = rounds.some((r) => r.epsilon != null);
  document.getElementById("privacy-card").classList.toggle("hidden", !dp);
}

function text(tag, value, cls) {
  const el = document.createElement(tag);
  el.textContent = value == null ? "" : String(value);
  if (cls) el.className = cls;
  return el;
}

function table(clients) {
  const body = document.querySelector("#clients tbody");
  body.replaceChildren(...clients.map((c) => {
    const tr = document.createElement("tr");
    tr.dataset.client = c.name;
    const failure = c.lastFailure ? "round " + c.lastFailure.round + " (" + c.lastFailure.kind + "): " + c.lastFailure.reason : "";
    tr.append(text("td", c.name), text("td", c.state, c.state), text("td", c.lastSeen ? c.lastSeen.slice(11, 19) : ""), text("td", c.rounds),
      text("td", c.failures), text("td", failure), text("td", c.seconds == null ? "" : c.seconds.toFixed(3)), text("td", c.examples));
    return tr;
  }));
}

function header(state) {
  document.getElementById("run").textContent = state.run.runId;
  document.getElementById("about").textContent = state.run.strategy + " · " + state.run.model + " · " + state.run.data + (state.run.secure ? " · secure channel" : " · insecure");
}

function progress(status) {
  const last = rounds[rounds.length - 1];
  document.getElementById("status").textContent = status;
  document.getElementById("progress").textContent = "round " + (last ? last.round : 0) + " of " + planned +
    (last && last.accuracy != null ? " · accuracy " + last.accuracy.toFixed(4) : "");
}

let planned = 0;
const events = new EventSource("/dashboard/events");
events.addEventListener("state", (e) => {
  const state = JSON.parse(e.data);
  planned = state.run.roundsPlanned;
  rounds.length = 0;
  rounds.push(...state.rounds);
  header(state);
  draw();
  table(state.clients);
  progress(state.status);
  // a run that has ended sends nothing more
  if (state.status !== "running") events.close();
});
events.addEventListener("round", (e) => {
  const { record, clients } = JSON.parse(e.data);
  rounds.push(record);
  draw();
  table(clients);
  progress("running");
});
events.addEventListener("end", (e) => {
  const { status, clients } = JSON.parse(e.data);
  table(clients);
  progress(status);
  events.close();
});
// the stream dropped: the browser tries again (the coordinator sends the whole state anew), or gave up
events.onerror = () => progress(events.readyState === EventSource.CLOSED ? "disconnected" : "reconnecting…");
`;

export const DASHBOARD_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Starling run</title>
<link rel="stylesheet" href="/dashboard/uPlot.min.css">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 16px 24px; color: #1d1d1f; background: #fafafa; }
  h1 { font-size: 20px; margin: 0 0 4px; }
  #meta { color: #555; margin-bottom: 12px; }
  #status { font-weight: 600; }
  .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 16px; }
  .card { background: #fff; border: 1px solid #e2e2e2; border-radius: 6px; padding: 8px 12px; }
  .card h2 { font-size: 14px; margin: 4px 0 8px; }
  table { border-collapse: collapse; width: 100%; background: #fff; }
  th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eee; font-variant-numeric: tabular-nums; }
  th { font-weight: 600; background: #f3f3f3; }
  td.away { color: #b00020; }
  .hidden { display: none; }
  h2.section { font-size: 16px; margin: 20px 0 8px; }
</style>
</head>
<body>
<h1>Starling run <span id="run"></span></h1>
<div id="meta"><span id="status">connecting…</span> · <span id="progress"></span> · <span id="about"></span></div>
<div class="grid">
  <div class="card"><h2>accuracy</h2><div id="accuracy" class="chart"></div></div>
  <div class="card"><h2>loss</h2><div id="loss" class="chart"></div></div>
  <div class="card"><h2>where a round's seconds went</h2><div id="timings" class="chart"></div></div>
  <div class="card"><h2>MB per round</h2><div id="bytes" class="chart"></div></div>
  <div class="card hidden" id="privacy-card"><h2>privacy spent (ε)</h2><div id="privacy" class="chart"></div></div>
</div>
<h2 class="section">clients</h2>
<table id="clients">
  <thead><tr><th>client</th><th>state</th><th>last seen</th><th>rounds answered</th><th>failures</th><th>last failure</th><th>seconds (last)</th><th>examples (last)</th></tr></thead>
  <tbody></tbody>
</table>
<script src="/dashboard/uPlot.iife.min.js"></script>
<script>${DASHBOARD_SCRIPT}</script>
</body>
</html>
`;
