// The unistore web UI: a few views over the REST API and the live
// WebSocket, routed by the URL's hash. Plain DOM, no dependencies; every
// text from the server goes in as text, never as HTML.
"use strict";

const view = () => document.getElementById("view");
let cleanup = []; // what the current view must stop when left

// h builds an element: h("a", {href: "#/"}, "text", child, …).
function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "style") throw new Error("style attributes are blocked by the CSP: use a class");
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const kid of kids.flat()) {
    if (kid === undefined || kid === null || kid === false) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}

function show(...nodes) {
  view().replaceChildren(...nodes);
}

class HTTPError extends Error {
  constructor(status, body) {
    super(body && body.error ? body.error : "HTTP " + status);
    this.status = status;
    this.body = body;
  }
}

async function api(method, path, body) {
  const init = { method, headers: {}, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const r = await fetch("/api/v1" + path, init);
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = { error: text }; }
  if (r.status === 401) { login(); throw new HTTPError(401, data); }
  if (!r.ok) throw new HTTPError(r.status, data);
  return data;
}

const num = (v, d = 1) => (v === undefined || v === null || !isFinite(v) ? "–" : Number(v).toLocaleString(undefined, { maximumFractionDigits: d, minimumFractionDigits: d }));
const ms = (v) => num(v, 3);
const badge = (s, id) => h("span", { class: "badge s-" + s, id }, s);
const when = (t) => (t ? new Date(t).toLocaleString() : "–");
const errorBox = (e) => h("div", { class: "error" }, h("pre", {}, e.message || String(e)));

function login() {
  cleanup.forEach((f) => f());
  cleanup = [];
  const failed = new URLSearchParams(location.search).get("login") === "failed";
  show(h("form", { class: "card login", method: "post", action: "/login" },
    h("h1", {}, "Log in"),
    h("p", { class: "muted" }, "This controller needs its access token."),
    failed && h("div", { class: "error" }, "That token is not right."),
    h("label", { for: "token" }, "Token"),
    h("input", { id: "token", name: "token", type: "password", autocomplete: "current-password", required: true }),
    h("button", { type: "submit" }, "Log in")));
}

// ---- runs list -------------------------------------------------------

async function runsView(params) {
  const status = params.get("status") || "";
  const filter = h("select", { id: "status-filter", onchange: (e) => { location.hash = "#/?status=" + e.target.value; } },
    ["", "RUNNING", "STOPPING", "COMPLETED", "CANCELLED", "FAILED", "PREPARED"].map((s) =>
      h("option", { value: s, selected: s === status }, s || "all statuses")));
  const compareBtn = h("button", { id: "compare-btn", class: "secondary", disabled: true, onclick: () => {
    const ids = [...document.querySelectorAll("input.pick:checked")].map((c) => c.value);
    location.hash = "#/compare/" + ids.join(",");
  } }, "Compare selected");
  const body = h("tbody");
  const table = h("table", { id: "runs" }, h("thead", {}, h("tr", {},
    h("th", {}, ""), h("th", { class: "l" }, "Run"), h("th", { class: "l" }, "Name"), h("th", { class: "l" }, "Status"),
    h("th", { class: "l" }, "Created"), h("th", {}, "Conns"), h("th", {}, "QPS"), h("th", {}, "p99 ms"))), body);
  show(h("h1", {}, "Runs"),
    h("div", { class: "toolbar" }, filter, compareBtn, h("a", { href: "#/new" }, "New run")),
    h("div", { class: "card flush" }, table));

  const onPick = () => {
    const n = document.querySelectorAll("input.pick:checked").length;
    compareBtn.disabled = n < 2 || n > 5;
  };
  const load = async () => {
    const q = new URLSearchParams({ limit: "100" });
    if (status) q.set("status", status);
    const runs = await api("GET", "/runs?" + q);
    body.replaceChildren(...runs.map((r) => {
      const live = !["COMPLETED", "FAILED", "CANCELLED"].includes(r.status) && !r.stale;
      return h("tr", {},
        h("td", {}, h("input", { type: "checkbox", class: "pick", value: r.run_id, onchange: onPick })),
        h("td", { class: "l mono" }, h("a", { href: (live ? "#/live/" : "#/run/") + r.run_id }, r.run_id)),
        h("td", { class: "l" }, r.name),
        h("td", { class: "l" }, badge(r.status), r.stale ? h("span", { class: "muted" }, " orchestrator gone") :
          (r.status === "FAILED" && (r.outcome || "").startsWith("orchestrator lost") ? h("span", { class: "muted" }, " orchestrator lost") : "")),
        h("td", { class: "l" }, when(r.created_at)),
        h("td", {}, r.connections),
        h("td", {}, num(r.qps)),
        h("td", {}, ms(r.p99_ms)));
    }));
    if (!runs.length) body.append(h("tr", {}, h("td", { colspan: 8, class: "muted l" }, "No runs yet: start one from New run.")));
    onPick();
  };
  await load();
  const t = setInterval(() => load().catch(() => {}), 2000);
  cleanup.push(() => clearInterval(t));
}

// ---- new run ---------------------------------------------------------

const overrideFields = [
  ["target", "Target DSN", "text", "sqlite://bench.db"],
  ["connections", "Connections", "number", ""],
  ["workers", "Workers", "number", ""],
  ["warmup", "Warm-up", "text", "e.g. 5s"],
  ["duration", "Duration", "text", "e.g. 30s"],
  ["rate", "Rate (ops/s, 0 = closed)", "number", ""],
  ["seed", "Seed", "number", ""],
  ["capture", "Capture", "text", "sample:0.01"],
];

async function newRunView() {
  let templates = [];
  try { templates = await api("GET", "/templates"); } catch (e) { if (e.status === 401) return; }
  const src = h("select", { id: "source" },
    h("option", { value: "" }, "paste YAML below"),
    templates.map((t) => h("option", { value: t.name }, t.name + " (v" + t.version + ")")));
  const yaml = h("textarea", { id: "spec-yaml", spellcheck: "false", placeholder: "name: my-run\nworkload:\n  operations:\n    - name: lookup\n      sql: SELECT …" });
  let pasted = "";
  // A saved template shows its YAML, read-only; "paste" gives back what was typed.
  const syncSource = async () => {
    if (!src.value) { yaml.disabled = false; yaml.value = pasted; return; }
    if (!yaml.disabled) pasted = yaml.value;
    yaml.disabled = true;
    try { yaml.value = (await api("GET", "/templates/" + encodeURIComponent(src.value))).body; } catch (e) { yaml.value = ""; }
  };
  src.addEventListener("change", syncSource);
  if (templates.length) src.value = templates[0].name;
  syncSource();
  const inputs = {};
  const grid = h("div", { class: "grid-form" }, overrideFields.map(([k, label, type, ph]) => {
    inputs[k] = h("input", { id: "o-" + k, name: k, type, placeholder: ph, step: type === "number" ? "any" : undefined });
    return h("div", {}, h("label", { for: "o-" + k }, label), inputs[k]);
  }));
  const err = h("div");
  const start = h("button", { id: "start", type: "submit" }, "Start run");
  const form = h("form", { id: "new-run", onsubmit: async (e) => {
    e.preventDefault();
    err.replaceChildren();
    const body = {};
    if (src.value) body.template = src.value; else body.spec_yaml = yaml.value;
    for (const [k, , type] of overrideFields) {
      const v = inputs[k].value.trim();
      if (v !== "") body[k] = type === "number" ? Number(v) : v;
    }
    start.disabled = true;
    try {
      const r = await api("POST", "/runs", body);
      location.hash = "#/live/" + r.run_id;
    } catch (x) {
      err.replaceChildren(errorBox(x));
      start.disabled = false;
    }
  } },
  h("div", { class: "card" }, h("label", { for: "source" }, "Template"), src, h("h2", {}, "Template YAML"), yaml),
  h("div", { class: "card" }, h("h2", {}, "Overrides (empty: the template's)"), grid),
  err, start);
  show(h("h1", {}, "New run"), form);
}

// ---- live dashboard --------------------------------------------------

function opTable(ops, cols) {
  const names = Object.keys(ops || {}).sort();
  return h("table", { class: "ops" },
    h("thead", {}, h("tr", {}, h("th", { class: "l" }, "Operation"), cols.map((c) => h("th", {}, c[0])))),
    h("tbody", {}, names.map((n) => h("tr", {}, h("td", { class: "l" }, n), cols.map((c) => h("td", {}, c[1](ops[n])))))));
}

const opCols = [
  ["count", (o) => num(o.count, 0)], ["qps", (o) => num(o.qps)], ["mean ms", (o) => ms(o.latency_ms.mean)],
  ["p50 ms", (o) => ms(o.latency_ms.p50)], ["p95 ms", (o) => ms(o.latency_ms.p95)], ["p99 ms", (o) => ms(o.latency_ms.p99)],
  ["p99.9 ms", (o) => ms(o.latency_ms.p999)], ["max ms", (o) => ms(o.latency_ms.max)], ["errors", (o) => num(o.errors, 0)],
];

function liveView(id) {
  const title = h("h1", {}, "Run ", h("span", { class: "mono" }, id));
  const statusEl = h("span", {}, badge("…", "status"));
  const stats = {};
  const stat = (k, label) => { stats[k] = h("div", { class: "v", id: "stat-" + k }, "–"); return h("div", { class: "stat" }, stats[k], h("div", { class: "k" }, label)); };
  const qpsCanvas = h("canvas", { class: "chart", id: "qps-chart" });
  const latCanvas = h("canvas", { class: "chart", id: "latency-chart" });
  const ops = h("div", { class: "card flush" });
  const workers = h("div", { class: "workers", id: "workers" });
  const msg = h("div");
  const stopBtn = h("button", { id: "stop", class: "danger", onclick: async () => {
    stopBtn.disabled = true;
    try { await api("POST", "/runs/" + id + "/stop"); } catch (e) { msg.replaceChildren(errorBox(e)); stopBtn.disabled = false; }
  } }, "Stop");
  const scaleIn = h("input", { id: "scale-connections", type: "number", min: "1", class: "narrow", placeholder: "connections" });
  const scaleBtn = h("button", { id: "scale", class: "secondary", onclick: async () => {
    msg.replaceChildren();
    try { await api("POST", "/runs/" + id + "/scale", { connections: Number(scaleIn.value) }); }
    catch (e) { msg.replaceChildren(errorBox(e)); }
  } }, "Scale");
  const done = h("div");
  show(title, h("div", { class: "toolbar" }, statusEl, stopBtn, scaleIn, scaleBtn, h("a", { href: "#/run/" + id }, "details")),
    msg, done,
    h("div", { class: "stats" }, stat("phase", "phase"), stat("elapsed", "elapsed"), stat("qps", "qps"), stat("p50", "p50 ms"),
      stat("p95", "p95 ms"), stat("p99", "p99 ms"), stat("errors", "errors"), stat("workers", "workers live")),
    h("div", { class: "row" },
      h("div", { class: "card" }, h("h2", {}, "Throughput"), qpsCanvas),
      h("div", { class: "card" }, h("h2", {}, "Latency"), latCanvas)),
    h("h2", {}, "Operations (last interval)"), ops,
    h("h2", {}, "Workers"), workers);
  const qps = new LineChart(qpsCanvas, { series: [{ name: "qps", color: "#2563eb" }], window: 300 });
  const lat = new LineChart(latCanvas, { unit: "ms", window: 300, series: [
    { name: "p50", color: "#16a34a" }, { name: "p95", color: "#d97706" }, { name: "p99", color: "#dc2626" }] });

  const proto = location.protocol === "https:" ? "wss://" : "ws://";
  let ws, closed = false;
  const connect = () => {
    ws = new WebSocket(proto + location.host + "/api/v1/runs/" + encodeURIComponent(id) + "/live");
    ws.onmessage = (ev) => {
      const m = JSON.parse(ev.data);
      if (m.type === "progress") {
        statusEl.replaceChildren(badge(m.status, "status"));
        stats.phase.textContent = m.phase || "–";
        stats.elapsed.textContent = num(m.elapsed_s, 0) + " s";
        stats.qps.textContent = num(m.qps);
        stats.p50.textContent = ms(m.latency_ms.p50);
        stats.p95.textContent = ms(m.latency_ms.p95);
        stats.p99.textContent = ms(m.latency_ms.p99);
        stats.errors.textContent = num(m.errors, 0);
        stats.workers.textContent = m.workers.live + (m.workers.lost ? " (" + m.workers.lost + " lost)" : "");
        if (m.count > 0 || m.qps > 0) {
          qps.push(m.elapsed_s, [m.qps]);
          lat.push(m.elapsed_s, [m.latency_ms.p50, m.latency_ms.p95, m.latency_ms.p99]);
        }
        ops.replaceChildren(opTable(m.operations, opCols));
        workers.replaceChildren(...m.workers.per_worker.map((w) => h("div", { class: "worker h-" + w.health },
          h("div", { class: "id" }, w.id, h("span", { class: "health" }, w.health)),
          h("div", {}, "connections ", h("b", {}, w.connections_active), " of ", w.connections_target),
          h("div", {}, h("b", {}, num(w.qps)), " qps"),
          h("div", { class: "muted" }, (w.phase || "").toLowerCase(), " · seen ", new Date(w.last_seen).toLocaleTimeString()))));
      } else if (m.type === "result") {
        closed = true;
        const r = m.result || {};
        statusEl.replaceChildren(badge(r.status || "FAILED", "status"));
        stats.phase.textContent = "DONE";
        stopBtn.disabled = scaleBtn.disabled = true;
        stats.workers.textContent = "0";
        workers.querySelectorAll(".worker").forEach((w) => {
          w.className = "worker h-STOPPED";
          const health = w.querySelector(".health");
          if (health) health.textContent = "STOPPED";
        });
        done.replaceChildren(h("div", { class: "card" },
          h("b", {}, "Run ended: ", r.status || "?"), m.error ? " — " + m.error : "",
          " · ", num(r.total && r.total.qps), " qps, p99 ", ms(r.total && r.total.latency_ms.p99), " ms over ",
          num(r.measured_seconds), " s · ", h("a", { href: "#/run/" + id, id: "result-link" }, "final result")));
      }
    };
    ws.onclose = () => { if (!closed) setTimeout(() => { if (!closed) connect(); }, 1000); };
  };
  connect();
  cleanup.push(() => { closed = true; ws && ws.close(); });
}

// ---- run detail ------------------------------------------------------

async function runView(id) {
  const res = await api("GET", "/runs/" + encodeURIComponent(id));
  const ivs = await api("GET", "/runs/" + encodeURIComponent(id) + "/intervals");
  const qpsCanvas = h("canvas", { class: "chart", id: "iv-qps" });
  const latCanvas = h("canvas", { class: "chart", id: "iv-latency" });
  const running = !["COMPLETED", "FAILED", "CANCELLED"].includes(res.status);
  const t = res.total || { latency_ms: {} };
  show(h("h1", {}, res.name || "run", " ", h("span", { class: "mono muted" }, res.run_id)),
    h("div", { class: "toolbar" }, badge(res.status),
      running ? h("a", { href: "#/live/" + id }, "live dashboard") : "",
      h("span", { class: "muted" }, "export:"),
      ["hdr", "csv", "json"].map((f) => h("a", { href: "/api/v1/runs/" + encodeURIComponent(id) + "/export?format=" + f, download: id + "." + f }, f))),
    res.error ? h("div", { class: "error" }, res.error) : "",
    h("div", { class: "stats" },
      [["qps", num(t.qps)], ["p50 ms", ms(t.latency_ms.p50)], ["p99 ms", ms(t.latency_ms.p99)], ["p99.9 ms", ms(t.latency_ms.p999)],
        ["count", num(t.count, 0)], ["errors", num(t.errors, 0)], ["measured", num(res.measured_seconds) + " s"],
        ["connections", res.connections], ["workers", res.workers ? res.workers.target : "–"]].map(([k, v]) =>
        h("div", { class: "stat" }, h("div", { class: "v" }, v), h("div", { class: "k" }, k)))),
    h("p", { class: "muted" }, "driver ", res.driver, " · target ", h("span", { class: "mono" }, res.target),
      " · started ", when(res.started_at), " · ended ", when(res.ended_at)),
    h("h2", {}, "Operations (measurement phase)"),
    h("div", { class: "card flush" }, opTable(Object.assign({ "(total)": t }, res.operations), opCols)),
    h("div", { class: "row" },
      h("div", { class: "card" }, h("h2", {}, "Throughput per interval"), qpsCanvas),
      h("div", { class: "card" }, h("h2", {}, "Latency per interval"), latCanvas)));
  const t0 = ivs.length ? Date.parse(ivs[0].start) : 0;
  const xs = ivs.map((iv) => (Date.parse(iv.start) - t0) / 1000);
  new LineChart(qpsCanvas, { series: [{ name: "qps", color: "#2563eb" }] }).set(xs, [ivs.map((iv) => iv.total.qps)]);
  new LineChart(latCanvas, { unit: "ms", series: [{ name: "p50", color: "#16a34a" }, { name: "p95", color: "#d97706" }, { name: "p99", color: "#dc2626" }] })
    .set(xs, [ivs.map((iv) => iv.total.latency_ms.p50), ivs.map((iv) => iv.total.latency_ms.p95), ivs.map((iv) => iv.total.latency_ms.p99)]);
  answersView(id, res);
}

// answersView adds a run's SLO verdicts and, for a find-max run, its
// steps: a table and QPS and p99 by step.
async function answersView(id, res) {
  const main = document.getElementById("view");
  if ((res.slo || []).length) {
    main.append(h("h2", {}, "Service-level objectives"), h("div", { class: "card flush" }, h("table", {},
      h("tr", {}, ["scope", "objective", "observed", "threshold", "verdict"].map((c) => h("th", {}, c))),
      res.slo.map((v) => h("tr", {}, h("td", { class: "l" }, v.scope), h("td", { class: "l" }, v.objective),
        h("td", {}, num(v.observed, 3)), h("td", {}, num(v.threshold, 3)), h("td", { class: v.pass ? "pos" : "neg" }, v.pass ? "PASS" : "FAIL"))))));
  }
  const steps = await api("GET", "/runs/" + encodeURIComponent(id) + "/steps");
  // Still on this run's page (the reader may have moved on meanwhile)?
  if (!steps.length || !document.getElementById("iv-qps")) return;
  const canvas = h("canvas", { class: "chart", id: "fm-steps" });
  main.append(h("h2", {}, "find-max steps"), h("div", { class: "card flush" }, h("table", { id: "fm-table" },
    h("tr", {}, ["step", "rate", "connections", "qps", "p99 ms", "verdict"].map((c) => h("th", {}, c))),
    steps.map((s) => h("tr", {}, h("td", {}, s.step), h("td", {}, s.rate ? num(s.rate) : "–"), h("td", {}, s.connections),
      h("td", {}, num(s.qps)), h("td", {}, ms(s.latency_ms.p99)), h("td", { class: s.verdict === "PASS" ? "pos" : "neg" }, s.verdict))))),
  h("div", { class: "card" }, h("h2", {}, "QPS and p99 by step"), canvas));
  new LineChart(canvas, { series: [{ name: "qps", color: "#2563eb" }, { name: "p99 ms", color: "#dc2626" }] })
    .set(steps.map((s) => s.step), [steps.map((s) => s.qps), steps.map((s) => s.latency_ms.p99)]);
}

// ---- compare ---------------------------------------------------------

async function compareView(ids) {
  const rs = await api("GET", "/compare?runs=" + ids.map(encodeURIComponent).join(","));
  const keys = Object.keys(rs).sort(); // a, b, c… in the order given
  const runs = keys.map((k) => rs[k]);
  const base = runs[0];
  const metrics = [["qps", (o) => o.qps, true], ["p50 ms", (o) => o.latency_ms.p50, false], ["p95 ms", (o) => o.latency_ms.p95, false],
    ["p99 ms", (o) => o.latency_ms.p99, false], ["p99.9 ms", (o) => o.latency_ms.p999, false], ["errors", (o) => o.errors, false]];
  const opNames = ["(total)", ...new Set(runs.flatMap((r) => Object.keys(r.operations || {})))];
  const get = (r, op) => (op === "(total)" ? r.total : (r.operations || {})[op]);
  const delta = (b, v, higherBetter) => {
    if (!isFinite(b) || !isFinite(v) || b === 0) return "";
    const d = ((v - b) / b) * 100;
    const good = higherBetter ? d >= 0 : d <= 0;
    return h("span", { class: Math.abs(d) < 0.05 ? "muted" : good ? "pos" : "neg" }, " (" + (d >= 0 ? "+" : "") + d.toFixed(1) + "%)");
  };
  const rows = [];
  for (const op of opNames) {
    for (const [label, f, hb] of metrics) {
      rows.push(h("tr", {}, h("td", { class: "l" }, op), h("td", { class: "l" }, label),
        runs.map((r, i) => {
          const o = get(r, op);
          if (!o) return h("td", {}, "–");
          const v = f(o), b = get(base, op) ? f(get(base, op)) : NaN;
          return h("td", {}, label.endsWith("ms") ? ms(v) : num(v, label === "errors" ? 0 : 1), i ? delta(b, v, hb) : "");
        })));
    }
  }
  show(h("h1", {}, "Compare ", runs.length, " runs"),
    h("p", { class: "muted" }, "Deltas against the first run (", h("span", { class: "mono" }, base.run_id), "); green is better."),
    h("div", { class: "card flush" }, h("table", { id: "compare" },
      h("thead", {}, h("tr", {}, h("th", { class: "l" }, "Operation"), h("th", { class: "l" }, "Metric"),
        runs.map((r) => h("th", {}, h("a", { href: "#/run/" + r.run_id }, r.name + " " + r.run_id.slice(-6)), h("br"), r.status)))),
      h("tbody", {}, rows))));
}

// ---- router ----------------------------------------------------------

async function route() {
  cleanup.forEach((f) => f());
  cleanup = [];
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, query] = hash.split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean);
  try {
    if (new URLSearchParams(location.search).get("login") === "failed") { login(); return; }
    if (parts.length === 0) await runsView(params);
    else if (parts[0] === "new") await newRunView();
    else if (parts[0] === "live" && parts[1]) liveView(decodeURIComponent(parts[1]));
    else if (parts[0] === "run" && parts[1]) await runView(decodeURIComponent(parts[1]));
    else if (parts[0] === "compare" && parts[1]) await compareView(parts[1].split(",").map(decodeURIComponent));
    else show(h("p", {}, "No such page. ", h("a", { href: "#/" }, "Runs")));
  } catch (e) {
    if (e.status !== 401) show(errorBox(e));
  }
}

window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", route);
