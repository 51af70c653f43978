// lrlab serve: the page's only script. Plain JavaScript, no libraries, nothing fetched
// but this server's /api. The URL's hash holds the page's state, so a link shares it.
"use strict";

const $ = (selector, root = document) => root.querySelector(selector);
let PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
               "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const color = (i) => PALETTE[i % PALETTE.length];

function esc(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
  })[c]);
}

function fmt(value) {
  if (value === null || value === undefined) return "-";
  if (value === 0) return "0";
  const a = Math.abs(value);
  if (Number.isInteger(value) && a < 1e7) return String(value);
  if (a >= 1e7 || a < 1e-3) return value.toExponential(3).replace(/\.?0+e/, "e");
  return String(+value.toPrecision(5));
}

async function getJSON(url, signal) {
  const response = await fetch(url, { signal, cache: "no-store" });
  const body = await response.json();
  if (!response.ok) {
    const error = new Error(body.error ? body.error.message : response.statusText);
    error.detail = body.error || {};
    throw error;
  }
  return body;
}

// --- the chart: lines (or per-pixel min/max envelopes) on linear or log axes ---------

function ticks(lo, hi, log) {
  if (log) {
    const out = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
      const v = 10 ** e;
      if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v);
    }
    return out.length ? out : [lo, hi];
  }
  const span = hi - lo || Math.abs(hi) || 1;
  const raw = span / 5;
  const step = [1, 2, 5, 10].map((m) => m * 10 ** Math.floor(Math.log10(raw)))
    .find((s) => span / s <= 6);
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
    out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  }
  return out;
}

// series: [{label, color, x: [...], lo: [...], hi: [...] (optional), dash}]
// options: {height, logX, logY, xLabel, yLabel, yMax (clip above), dots (mark each point),
//           marks: [{x, label}] (vertical lines), hover(xValue) -> lines}
function drawChart(container, series, options = {}) {
  const width = Math.max(container.clientWidth || 800, 300);
  const height = options.height || 320;
  const m = { l: 68, r: 14, t: 10, b: 38 };
  const usable = (v, log) => v !== null && Number.isFinite(v) && (!log || v > 0);
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const s of series) {
    s.x.forEach((x, i) => {
      if (!usable(x, options.logX)) return;
      for (const y of [s.lo[i], (s.hi || s.lo)[i]]) {
        if (!usable(y, options.logY)) continue;
        x0 = Math.min(x0, x); x1 = Math.max(x1, x);
        y0 = Math.min(y0, y); y1 = Math.max(y1, y);
      }
    });
  }
  if (!Number.isFinite(x0)) {
    container.innerHTML = `<p class="note">${esc(options.empty || "nothing to draw")}</p>`;
    return;
  }
  if (options.yMax !== undefined && options.yMax > y0) y1 = Math.min(y1, options.yMax);
  if (x1 === x0) [x0, x1] = options.logX ? [x0 / 2, x1 * 2] : [x0 - 0.5, x1 + 0.5];
  if (y1 === y0) { const pad = Math.abs(y0) * 0.1 || 1; y0 -= options.logY ? 0 : pad; y1 += pad; }
  if (!options.logY && y0 > 0 && y0 < (y1 - y0)) y0 = 0;
  const f = (v, log) => (log ? Math.log10(v) : v);
  const [fx0, fx1, fy0, fy1] = [f(x0, options.logX), f(x1, options.logX),
                                f(y0, options.logY), f(y1, options.logY)];
  const sx = (x) => m.l + ((f(x, options.logX) - fx0) / (fx1 - fx0)) * (width - m.l - m.r);
  const sy = (y) => height - m.b - ((f(y, options.logY) - fy0) / (fy1 - fy0)) * (height - m.t - m.b);
  const parts = [`<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}"
    xmlns="http://www.w3.org/2000/svg" role="img">`];
  parts.push('<g class="axis">');
  for (const v of ticks(y0, y1, options.logY)) {
    const y = sy(v).toFixed(1);
    parts.push(`<line x1="${m.l}" x2="${width - m.r}" y1="${y}" y2="${y}"/>`,
               `<text x="${m.l - 6}" y="${y}" text-anchor="end" dy="0.32em">${esc(fmt(v))}</text>`);
  }
  for (const v of ticks(x0, x1, options.logX)) {
    const x = sx(v).toFixed(1);
    parts.push(`<line x1="${x}" x2="${x}" y1="${height - m.b}" y2="${height - m.b + 4}"/>`,
               `<text x="${x}" y="${height - m.b + 16}" text-anchor="middle">${esc(fmt(v))}</text>`);
  }
  parts.push(`<path d="M${m.l},${m.t}V${height - m.b}H${width - m.r}" fill="none"/>`);
  if (options.xLabel) {
    parts.push(`<text x="${(m.l + width - m.r) / 2}" y="${height - 4}" text-anchor="middle">${esc(options.xLabel)}</text>`);
  }
  if (options.yLabel) {
    parts.push(`<text transform="translate(12 ${(m.t + height - m.b) / 2}) rotate(-90)" text-anchor="middle">${esc(options.yLabel)}</text>`);
  }
  parts.push("</g>");
  const clip = `clip${Math.random().toString(36).slice(2)}`;
  parts.push(`<clipPath id="${clip}"><rect x="${m.l}" y="${m.t - 2}" width="${width - m.l - m.r}"
    height="${height - m.t - m.b + 4}"/></clipPath><g clip-path="url(#${clip})">`);
  for (const mark of options.marks || []) {
    if (!usable(mark.x, options.logX)) continue;
    const x = sx(mark.x).toFixed(1);
    parts.push(`<line x1="${x}" x2="${x}" y1="${m.t}" y2="${height - m.b}" stroke="#999" stroke-dasharray="2 3"/>`,
               `<text x="${x}" y="${m.t + 10}" dx="3" class="mark">${esc(mark.label)}</text>`);
  }
  series.forEach((s, k) => {
    const d = [];
    let pen = "M";
    s.x.forEach((x, i) => {
      const lo = s.lo[i], hi = (s.hi || s.lo)[i];
      if (!usable(x, options.logX) || !usable(lo, options.logY) || !usable(hi, options.logY)) {
        pen = "M";
        return;
      }
      const px = sx(x).toFixed(1);
      d.push(`${pen}${px},${sy(lo).toFixed(1)}`);
      if (hi !== lo) d.push(`L${px},${sy(hi).toFixed(1)}`);
      pen = "L";
    });
    const dash = s.dash ? ' stroke-dasharray="4 3"' : "";
    parts.push(`<path class="curve" data-series="${k}" d="${d.join("")}" fill="none" stroke="${s.color}"
      stroke-width="1.6" stroke-linejoin="round"${dash}/>`);
    if (options.dots) {
      for (const point of d) {
        const [px, py] = point.slice(1).split(",");
        parts.push(`<circle cx="${px}" cy="${py}" r="2.2" fill="${s.color}"/>`);
      }
    }
  });
  parts.push("</g>");
  parts.push(`<line class="cursor" y1="${m.t}" y2="${height - m.b}" stroke="#999" visibility="hidden"/>`);
  parts.push(`<rect class="hit" x="${m.l}" y="${m.t}" width="${width - m.l - m.r}"
    height="${height - m.t - m.b}" fill="transparent"/></svg>`);
  container.innerHTML = parts.join("") + '<div class="tip" hidden></div>';
  const svg = $("svg", container), tip = $(".tip", container), cursor = $(".cursor", svg);
  const hit = $(".hit", svg);
  const invert = (px) => {
    const u = fx0 + ((px - m.l) / (width - m.l - m.r)) * (fx1 - fx0);
    return options.logX ? 10 ** u : u;
  };
  hit.addEventListener("mousemove", (event) => {
    const box = svg.getBoundingClientRect();
    const px = ((event.clientX - box.left) / box.width) * width;
    const lines = (options.hover || defaultHover(series))(invert(px));
    if (!lines.length) return;
    cursor.setAttribute("x1", px); cursor.setAttribute("x2", px);
    cursor.setAttribute("visibility", "visible");
    tip.innerHTML = lines.map((l) => (l.color
      ? `<div><span style="color:${l.color}">■</span> ${esc(l.text)}</div>`
      : `<div>${esc(l.text)}</div>`)).join("");
    tip.hidden = false;
    const left = (px / width) * box.width;
    tip.style.left = `${left + 12 + 220 > box.width ? left - 230 : left + 12}px`;
    tip.style.top = "8px";
  });
  hit.addEventListener("mouseleave", () => { tip.hidden = true; cursor.setAttribute("visibility", "hidden"); });
}

function nearest(xs, x) {
  let lo = 0, hi = xs.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] <= x) lo = mid; else hi = mid;
  }
  return Math.abs(xs[hi] - x) < Math.abs(xs[lo] - x) ? hi : lo;
}

function defaultHover(series) {
  return (x) => series.filter((s) => s.x.length).map((s) => {
    const i = nearest(s.x, x);
    return { color: s.color, text: `${s.label}: x=${fmt(s.x[i])} ${fmt(s.lo[i])}` };
  });
}

// --- the hash: the page's state as URL parameters --------------------------------------

function readHash() {
  return new URLSearchParams(location.hash.slice(1));
}

function writeHash(params) {
  const text = params.toString();
  if (text !== location.hash.slice(1)) history.replaceState(null, "", `#${text}`);
}

// --- the designer ------------------------------------------------------------------------

const designer = {
  rows: [],        // {spec, curve, error, controller, element, steps}
  selected: 0,
  forms: [],
  exportTimer: null,
};

function designerParams() {
  const params = new URLSearchParams();
  params.set("tab", "designer");
  for (const row of designer.rows) params.append("s", row.spec);
  const steps = $("#steps").value.trim();
  if (steps) params.set("steps", steps);
  if ($("#xaxis").value === "epoch") params.set("x", "epoch");
  params.set("k", $("#spe").value);
  if ($("#yscale").value === "log") params.set("y", "log");
  if ($("#per").value === "batch") params.set("per", "batch");
  return params;
}

function addRow(spec) {
  const element = $("#row-template").content.firstElementChild.cloneNode(true);
  const row = { spec, curve: null, error: null, controller: null, element };
  designer.rows.push(row);
  const input = $(".spec", element);
  input.value = spec;
  input.addEventListener("input", () => {
    row.spec = input.value;
    select(designer.rows.indexOf(row));
    changed(row);
  });
  input.addEventListener("focus", () => select(designer.rows.indexOf(row)));
  $(".remove", element).addEventListener("click", () => {
    if (designer.rows.length === 1) return;
    if (row.controller) row.controller.abort();
    designer.rows.splice(designer.rows.indexOf(row), 1);
    element.remove();
    select(Math.min(designer.selected, designer.rows.length - 1));
    recolor();
    writeHash(designerParams());
    drawDesigner();
  });
  $("#rows").append(element);
  recolor();
  return row;
}

function recolor() {
  designer.rows.forEach((row, i) => {
    $(".swatch", row.element).style.background = color(i);
    row.element.dataset.index = i;
  });
}

function select(index) {
  designer.selected = index;
  designer.rows.forEach((row, i) => row.element.classList.toggle("selected", i === index));
  scheduleExport();
}

function changed(row) {
  writeHash(designerParams());
  fetchCurve(row);
  if (designer.rows.indexOf(row) === designer.selected) scheduleExport();
}

// Steps drawn: the "steps" box, else the longest length among the schedules (a
// schedule without a length of its own, such as StepLR, gets 10000 when alone).
function stepsWanted() {
  const given = parseInt($("#steps").value, 10);
  if (given > 0) return given;
  const lengths = designer.rows.map((row) => (row.curve && row.curve.length) || 0);
  return Math.max(...lengths, 0) || 10000;  // designer.DEFAULT_STEPS
}

function plotWidth() {
  return Math.max(Math.min(Math.round($("#plot").clientWidth || 800), 4096), 100);
}

async function fetchCurve(row) {
  if (row.controller) row.controller.abort();
  const controller = new AbortController();
  row.controller = controller;
  const steps = stepsWanted();
  const query = new URLSearchParams({ spec: row.spec, width: plotWidth(), steps });
  try {
    row.curve = await getJSON(`/api/curve?${query}`, controller.signal);
    row.error = null;
  } catch (error) {
    if (error.name === "AbortError") return;
    row.curve = null;
    row.error = error.detail && error.detail.message ? error.detail : { message: String(error.message) };
  }
  if (row.controller === controller) row.controller = null;
  showError(row);
  const wanted = stepsWanted();
  if (wanted !== steps) {  // a length changed the common axis: draw every curve on it
    designer.rows.forEach((other) => {
      if (!other.curve || other.curve.steps !== wanted || other === row) fetchCurve(other);
    });
    return;
  }
  drawDesigner();
}

function showError(row) {
  const input = $(".spec", row.element);
  input.classList.toggle("bad", Boolean(row.error));
  $(".error", row.element).textContent = row.error ? row.error.message : "";
  if (designer.rows.indexOf(row) === designer.selected) {
    for (const field of $("#form").querySelectorAll("input")) {
      field.classList.toggle("bad", Boolean(row.error && row.error.parameter === field.name));
    }
  }
}

function drawDesigner() {
  const perEpoch = $("#xaxis").value === "epoch";
  const k = Math.max(parseInt($("#spe").value, 10) || 1, 1);
  const series = [];
  designer.rows.forEach((row, i) => {
    if (!row.curve) return;
    const c = row.curve;
    const middle = (c.bucket - 1) / 2;
    series.push({
      label: c.spec, color: color(i), curve: c,
      x: c.t.map((t) => (perEpoch ? (t + middle) / k : t + middle)),
      lo: c.low, hi: c.high,
    });
  });
  const plot = $("#plot");
  plot.dataset.curves = series.length;
  plot.dataset.revision = (parseInt(plot.dataset.revision || "0", 10) + 1).toString();
  drawChart(plot, series, {
    height: 360,
    logY: $("#yscale").value === "log",
    xLabel: perEpoch ? `epoch (${k} steps each)` : "step t (scheduler steps taken)",
    yLabel: "learning rate",
    empty: "no valid schedule to draw",
    hover: (x) => {
      const t = Math.max(0, Math.round(perEpoch ? x * k : x));
      const head = perEpoch ? `t = ${t} (epoch ${fmt(t / k)})` : `t = ${t}`;
      const lines = [{ text: head }];
      for (const s of series) {
        const c = s.curve;
        if (t >= c.steps) continue;
        const i = Math.min(Math.floor(t / c.bucket), c.t.length - 1);
        const lo = c.low[i], hi = c.high[i];
        const value = lo === hi ? fmt(lo) : `${fmt(lo)} … ${fmt(hi)}`;
        lines.push({ color: s.color, text: `lr = ${value}` });
      }
      return lines;
    },
  });
}

function scheduleExport() {
  clearTimeout(designer.exportTimer);
  designer.exportTimer = setTimeout(fetchExport, 120);
}

async function fetchExport() {
  const row = designer.rows[designer.selected];
  const targets = ["spec", "torch", "toml"].map((w) => $(`#export-${w}`));
  if (!row) return;
  try {
    const query = new URLSearchParams({ spec: row.spec, per: $("#per").value });
    const result = await getJSON(`/api/export?${query}`);
    if (designer.rows[designer.selected] !== row) return;
    $("#export-spec").textContent = result.spec;
    $("#export-torch").textContent = result.torch;
    $("#export-toml").textContent = result.toml;
  } catch (error) {
    targets.forEach((t) => { t.textContent = ""; });
  }
}

async function copy(what) {
  const text = $(`#export-${what}`).textContent;
  if (!text) return;
  try {
    await navigator.clipboard.writeText(text);
    const names = { spec: "spec", torch: "PyTorch code", toml: "TOML entry" };
    $("#copied").textContent = `copied the ${names[what] || what}`;
  } catch (error) {
    const range = document.createRange();
    range.selectNodeContents($(`#export-${what}`));
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    $("#copied").textContent = "selected: press Ctrl+C to copy";
  }
}

function buildForm(name) {
  const form = $("#form");
  form.innerHTML = "";
  const entry = designer.forms.find((f) => f.name === name);
  $("#picker-summary").textContent = entry ? entry.summary : "";
  if (!entry) return;
  for (const p of entry.parameters) {
    const label = document.createElement("label");
    label.textContent = p.default === null ? `${p.name} (required)` : p.name;
    const input = document.createElement("input");
    input.name = p.name;
    input.placeholder = p.default === null ? "" : p.default;
    input.addEventListener("input", () => formChanged(entry));
    label.append(input);
    form.append(label);
  }
  formChanged(entry);
}

function formChanged(entry) {
  const given = [...$("#form").querySelectorAll("input")]
    .filter((i) => i.value.trim())
    .map((i) => `${i.name}=${i.value.trim()}`);
  const row = designer.rows[designer.selected];
  row.spec = `${entry.name}(${given.join(", ")})`;
  $(".spec", row.element).value = row.spec;
  changed(row);
}

async function startDesigner(params) {
  const specs = params.getAll("s");
  if (params.get("steps")) $("#steps").value = params.get("steps");
  if (params.get("x") === "epoch") $("#xaxis").value = "epoch";
  if (params.get("k")) $("#spe").value = params.get("k");
  if (params.get("y") === "log") $("#yscale").value = "log";
  if (params.get("per") === "batch") $("#per").value = "batch";
  for (const spec of specs.length ? specs : ["warmup(cosine(init=0.1, steps=9000, end=1e-5), steps=1000)"]) {
    addRow(spec);
  }
  select(0);
  designer.rows.forEach(fetchCurve);
  $("#add").addEventListener("click", () => {
    const row = addRow("StepLR(lr=0.1, step_size=3000, gamma=0.5)");
    select(designer.rows.length - 1);
    changed(row);
    $(".spec", row.element).focus();
  });
  for (const id of ["#steps", "#spe"]) {
    $(id).addEventListener("input", () => { writeHash(designerParams()); designer.rows.forEach(fetchCurve); });
  }
  for (const id of ["#xaxis", "#yscale"]) {
    $(id).addEventListener("change", () => { writeHash(designerParams()); drawDesigner(); });
  }
  $("#per").addEventListener("change", () => { writeHash(designerParams()); scheduleExport(); });
  for (const button of document.querySelectorAll(".copy")) {
    button.addEventListener("click", () => copy(button.dataset.what));
  }
  $("#picker").addEventListener("change", (event) => buildForm(event.target.value));
  $("#examples").addEventListener("change", (event) => {  // into the selected schedule
    const spec = event.target.value;
    if (!spec) return;
    const row = designer.rows[designer.selected];
    row.spec = spec;
    $(".spec", row.element).value = spec;
    changed(row);
    event.target.value = "";
  });
  window.addEventListener("resize", () => designer.rows.forEach(fetchCurve));
  try {
    designer.forms = await getJSON("/api/schedules");
  } catch (error) {
    designer.forms = [];
  }
  const groups = { torch: "torch schedulers", lrlab: "lrlab schedules" };
  for (const [kind, title] of Object.entries(groups)) {
    const group = document.createElement("optgroup");
    group.label = title;
    for (const entry of designer.forms.filter((f) => f.kind === kind)) {
      const option = document.createElement("option");
      option.value = entry.name;
      option.textContent = entry.name;
      group.append(option);
    }
    $("#picker").append(group);
  }
}

// --- the experiment browser ----------------------------------------------------------------

const browser = { store: null, id: null, metric: null, run: null, timer: null, stores: [] };

async function pollStores() {
  try {
    browser.stores = (await getJSON("/api/stores")).stores;
  } catch (error) {
    $("#stores").innerHTML = `<p class="error">${esc(error.message)}</p>`;
    return;
  }
  renderStores();
}

function statusLine(runs) {
  const counts = {};
  for (const run of runs) counts[run.status] = (counts[run.status] || 0) + 1;
  return Object.entries(counts).map(([s, n]) => `${n} ${s}`).join(", ");
}

function renderStores() {
  const html = browser.stores.map((store) => {
    const links = store.experiments.map((e) => {
      const active = store.path === browser.store && e.id === browser.id ? " active" : "";
      return `<a href="#" class="experiment-link${active}" data-store="${esc(store.path)}"
        data-id="${esc(e.id)}">${esc(e.name)} <span class="note">${esc(e.id.slice(0, 8))} · ${e.runs} runs</span></a>`;
    }).join("");
    const problem = store.error ? `<div class="error">${esc(store.error)}</div>` : "";
    const none = !store.error && !store.experiments.length ? '<div class="note">no experiments yet</div>' : "";
    return `<div class="store"><div class="path">${esc(store.path)}</div>
      <div class="note">${esc(statusLine(store.runs))}</div>${problem}${none}${links}</div>`;
  }).join("");
  $("#stores").innerHTML = html || '<p class="note">no lrlab store under this directory yet</p>';
  for (const link of document.querySelectorAll(".experiment-link")) {
    link.addEventListener("click", (event) => {
      event.preventDefault();
      openExperiment(link.dataset.store, link.dataset.id);
    });
  }
}

function browserParams() {
  const params = new URLSearchParams({ tab: "experiments" });
  if (browser.store !== null) params.set("store", browser.store);
  if (browser.id !== null) params.set("id", browser.id);
  return params;
}

function openExperiment(store, id) {
  browser.store = store;
  browser.id = id;
  browser.run = null;
  writeHash(browserParams());
  renderStores();
  loadExperiment();
}

async function loadExperiment() {
  if (browser.store === null) return;
  const query = new URLSearchParams({ store: browser.store });
  if (browser.id) query.set("id", browser.id);
  try {
    renderExperiment(await getJSON(`/api/experiment?${query}`));
  } catch (error) {
    $("#experiment").innerHTML = `<p class="error">${esc(error.message)}</p>`;
  }
}

function renderExperiment(doc) {
  const e = doc.experiment;
  const order = e.schedules.map((s) => s.name);
  const colorOf = (name) => color(Math.max(order.indexOf(name), 0));
  const metrics = [...new Set(doc.runs.flatMap((r) => r.metrics.flatMap((m) => Object.keys(m))))]
    .filter((n) => !["epoch", "lr", "seconds"].includes(n));
  if (!browser.metric || !metrics.includes(browser.metric)) {
    browser.metric = metrics.includes(e.rank_metric) ? e.rank_metric : metrics[0] || null;
  }
  const r = doc.ranking;
  const rows = r.rows.map((row) => `<tr class="${row.verdict}">${row.cells.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`).join("");
  const runs = doc.runs.map((run) => `<tr class="clickable run" data-run="${esc(run.id)}">
      <td>${esc(run.id)}</td><td><span style="color:${colorOf(run.schedule)}">■</span> ${esc(run.schedule)}</td>
      <td>${run.seed}</td><td class="status-${esc(run.status)}">${esc(run.status)}</td>
      <td>${run.epochs_done}/${run.epochs ?? "?"}</td><td>${run.seconds === null ? "-" : run.seconds.toFixed(1)}</td></tr>`).join("");
  const chosen = doc.runs.find((run) => run.id === browser.run);
  const finds = doc.lr_finds.map((f, i) => `<div><p>range test ${i + 1}: suggestion
      <b>${esc(fmt(f.suggestion))}</b> <span class="note">${esc(f.reason || "")}</span></p>
      <div class="plot lr-find" data-index="${i}"></div></div>`).join("");
  $("#experiment").innerHTML = `
    <h2>${esc(e.name)} <span class="note">${esc(e.id)} · ${esc(doc.store)} · lr ${esc(fmt(e.lr))} (${esc(e.lr_source)})</span></h2>
    <p id="headline">${esc(r.headline)}</p>
    <div class="scroll"><table id="ranking"><thead><tr>${r.header.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${rows}</tbody></table></div>
    <div class="legend">${order.map((name) => `<span><span style="color:${colorOf(name)}">■</span> ${esc(name)}</span>`).join("")}</div>
    <div class="charts">
      <div><h2>learning rate <span class="note">(one run of each schedule)</span></h2><div id="lr-chart" class="plot"></div></div>
      <div><h2><select id="metric">${metrics.map((n) => `<option${n === browser.metric ? " selected" : ""}>${esc(n)}</option>`).join("")}</select></h2>
        <div id="metric-chart" class="plot"></div></div>
    </div>
    <h2>Runs <span class="note">(click one for its config)</span></h2>
    <table id="runs"><thead><tr><th>id</th><th>schedule</th><th>seed</th><th>status</th><th>epochs</th><th>time s</th></tr></thead><tbody>${runs}</tbody></table>
    ${chosen ? `<pre class="config" id="run-config">${esc(JSON.stringify(chosen.config, null, 2))}</pre>` : ""}
    ${finds ? `<h2>Range tests (find-lr)</h2>${finds}` : ""}
    <details><summary>experiment settings</summary><pre class="config">${esc(JSON.stringify(e.config, null, 2))}</pre></details>`;
  const label = (run) => `${run.schedule} seed ${run.seed}`;
  drawChart($("#lr-chart"), doc.lrs.map((curve) => ({
    label: label(curve), color: colorOf(curve.schedule), x: curve.x, lo: curve.lr,
  })), { height: 260, xLabel: "epoch", yLabel: "lr", empty: "no epochs committed yet" });
  const metric = browser.metric;
  drawChart($("#metric-chart"), doc.runs.map((run) => ({
    label: label(run), color: colorOf(run.schedule),
    x: run.metrics.map((m) => m.epoch + 1), lo: run.metrics.map((m) => (metric in m ? m[metric] : null)),
    dash: run.status !== "finished",
  })), {
    height: 260, xLabel: "epoch", yLabel: metric || "", empty: "no epochs committed yet",
    dots: e.config.epochs <= 40,
  });
  document.querySelectorAll(".lr-find").forEach((element) => {
    const f = doc.lr_finds[Number(element.dataset.index)];
    const smoothed = (f.smoothed || []).filter(Number.isFinite);
    const marks = Object.entries(f.suggestions || {})
      .filter(([, s]) => s && Number.isFinite(s.lr))
      .map(([name, s]) => ({ x: s.lr, label: name }));
    drawChart(element, [
      { label: "loss", color: color(0), x: f.lrs || [], lo: f.losses || [] },
      { label: "smoothed", color: color(1), x: f.lrs || [], lo: f.smoothed || [] },
    ], {
      height: 220, logX: true, xLabel: "lr", yLabel: "loss", marks,
      yMax: smoothed.length ? Math.max(smoothed[0], 4 * Math.min(...smoothed)) : undefined,
    });
  });
  const select = $("#metric");
  if (select) select.addEventListener("change", () => { browser.metric = select.value; renderExperiment(doc); });
  for (const tr of document.querySelectorAll("tr.run")) {
    tr.addEventListener("click", () => {
      browser.run = browser.run === tr.dataset.run ? null : tr.dataset.run;
      renderExperiment(doc);
    });
  }
}

function startBrowser(params) {
  if (params.has("store")) {
    browser.store = params.get("store");
    browser.id = params.get("id");
  }
}

// --- tabs and polling -----------------------------------------------------------------------

const POLL_MS = 1500;  // the open experiment
const STORES_MS = 4500;  // the list of stores (a walk of the directory)

function show(tab) {
  for (const button of document.querySelectorAll(".tab")) {
    button.classList.toggle("active", button.dataset.tab === tab);
  }
  $("#designer").hidden = tab !== "designer";
  $("#experiments").hidden = tab !== "experiments";
  clearInterval(browser.timer);
  if (tab === "experiments") {
    writeHash(browserParams());
    let ticks = 0;
    pollStores();
    loadExperiment();
    browser.timer = setInterval(() => {
      if (document.hidden) return;
      ticks += 1;
      if (ticks % Math.round(STORES_MS / POLL_MS) === 0) pollStores();
      loadExperiment();
    }, POLL_MS);
  } else {
    writeHash(designerParams());
    drawDesigner();
  }
}

async function start() {
  const params = readHash();
  try {
    PALETTE = (await getJSON("/api/info")).palette;
  } catch (error) {
    // keep the built-in palette (the same as lrlab.plot's)
  }
  startBrowser(params);
  await startDesigner(params);
  for (const button of document.querySelectorAll(".tab")) {
    button.addEventListener("click", () => show(button.dataset.tab));
  }
  show(params.get("tab") === "experiments" ? "experiments" : "designer");
  // A link pasted or edited by hand (the page itself only replaces the hash): load its state.
  window.addEventListener("hashchange", () => location.reload());
  document.body.dataset.ready = "1";
}

start();
