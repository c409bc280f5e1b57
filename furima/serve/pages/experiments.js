// The experiments page: running experiments (GET /v1/experiments) beside the current results
// of one (GET /v1/experiments/{name}?metrics=...): the sample-ratio check first, because a
// broken split makes every effect below it untrustworthy, then each metric's effect with its
// interval as a table and a Plotly chart. The chosen experiment is kept in the address
// (#experiment=...&metrics=a,b) so a view can be reloaded or shared.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { experiments: [], metrics: {}, name: null, chosen: null, since: null };
let loads = 0;

// ---- talking to the server -------------------------------------------------------------

async function getJson(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  const payload = await response.json().catch(() => ({}));
  if (!response.ok) {
    const message = payload.error ? payload.error.message : `The server answered ${response.status}.`;
    throw new Error(message);
  }
  return payload;
}

function showError(error) {
  $("error").textContent = error ? error.message : "";
  $("error").hidden = !error;
}

// ---- the address -----------------------------------------------------------------------

function readAddress() {
  const params = new URLSearchParams(location.hash.slice(1));
  state.name = params.get("experiment");
  const metrics = params.get("metrics");
  state.chosen = metrics === null ? null : metrics.split(",").filter(Boolean);
  state.since = params.get("since");
}

function writeAddress() {
  const params = new URLSearchParams();
  if (state.name) params.set("experiment", state.name);
  if (state.chosen) params.set("metrics", state.chosen.join(","));
  if (state.since) params.set("since", state.since);
  history.replaceState(null, "", `#${params}`);
}

// ---- numbers in words ------------------------------------------------------------------

function number(value, digits = 3) {
  if (value === null || value === undefined) return "–";
  return Math.abs(value) >= 1000 ? Math.round(value).toLocaleString() : Number(value.toPrecision(digits)).toString();
}

function effectText(value, relative) {
  if (value === null || value === undefined) return "–";
  const sign = value > 0 ? "+" : "";
  return relative ? `${sign}${(value * 100).toFixed(1)}%` : `${sign}${number(value)}`;
}

function pValue(value) {
  if (value === null || value === undefined) return "–";
  return value < 0.001 ? "<0.001" : value.toFixed(3);
}

// ---- the list --------------------------------------------------------------------------

async function loadList() {
  const listed = await getJson("/v1/experiments");
  state.experiments = listed.experiments;
  state.metrics = listed.metrics;
  const list = $("experiment-list");
  list.replaceChildren(...state.experiments.map(listItem));
  $("no-experiments").hidden = state.experiments.length > 0;
  if (!state.experiments.some((e) => e.name === state.name)) {
    state.name = state.experiments.length ? state.experiments[0].name : null;
  }
}

function listItem(experiment) {
  const item = document.createElement("li");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "experiment";
  button.dataset.name = experiment.name;
  const name = document.createElement("span");
  name.className = "name";
  name.textContent = experiment.name;
  if (experiment.running) {
    const badge = document.createElement("span");
    badge.className = "running";
    badge.textContent = "live";
    badge.title = "The served traffic runs this experiment now.";
    name.append(" ", badge);
  }
  const counts = document.createElement("span");
  counts.className = "counts";
  counts.textContent = Object.entries(experiment.units)
    .map(([variant, n]) => `${variant} ${n.toLocaleString()}`)
    .join(" · ");
  button.append(name, counts);
  button.addEventListener("click", () => {
    state.name = experiment.name;
    state.chosen = null;
    state.since = null;
    refresh(false);
  });
  item.append(button);
  return item;
}

function markCurrent() {
  for (const button of document.querySelectorAll(".experiment")) {
    button.setAttribute("aria-current", String(button.dataset.name === state.name));
  }
}

// ---- one experiment --------------------------------------------------------------------

async function loadResult() {
  $("result").hidden = !state.name;
  if (!state.name) return;
  const params = new URLSearchParams();
  if (state.chosen) params.set("metrics", state.chosen.join(","));
  if (state.since) params.set("since", state.since);
  const query = params.toString() ? `?${params}` : "";
  const result = await getJson(`/v1/experiments/${encodeURIComponent(state.name)}${query}`);
  showResult(result);
}

function showResult(result) {
  const analysis = result.analysis;
  $("result-name").textContent = result.experiment.name;
  const left = result.mixed_units_left_out;
  $("units").textContent =
    `${Object.entries(result.experiment.units).map(([v, n]) => `${n.toLocaleString()} ${v}`).join(", ")} units` +
    `${result.since ? " in all" : ""}; ` +
    `${result.experiment.exposures.toLocaleString()} exposures` +
    (left ? `; ${left} units met both variants and are left out` : "") +
    (result.since ? `; only units first exposed since ${new Date(result.since).toLocaleString()}` : "");
  $("all-units").hidden = !result.since;
  showSrm(analysis.srm, result.experiment);
  showMetricChoices(result.metrics);
  $("decision").textContent = analysis.decision || "";
  const overall = analysis.results.filter((r) => r.segment === null || r.segment === undefined);
  const relative = analysis.difference !== "absolute";
  $("effect-rows").replaceChildren(...overall.map((r) => effectRow(r, relative)));
  $("effects").hidden = overall.length === 0;
  drawEffects(overall, relative);
  drawPaths(analysis.sequential_paths || [], relative);
}

function showSrm(srm, experiment) {
  const box = $("srm");
  box.className = `srm ${srm.ok ? "ok" : "bad"}`;
  $("srm-title").textContent = srm.ok ? "Traffic split as designed" : "Sample-ratio mismatch";
  const split = srm.observed.map((n, i) => `${n} (expected ${number(srm.expected[i])})`).join(" vs ");
  $("srm-message").textContent = `${srm.message} Units: ${split}.`;
  // A ramp (say 10% to 50%) changes the design mid-way: the units before it followed the old split.
  const changed = experiment.design_changed_at !== null && experiment.design_changed_at !== undefined;
  const ramp = $("since-change");
  ramp.hidden = srm.ok || !changed || Boolean(state.since);
  if (!ramp.hidden) {
    const at = new Date(experiment.design_changed_at * 1000);
    ramp.textContent = `The split changed at ${at.toLocaleString()}: analyse the units since then`;
    ramp.dataset.since = at.toISOString();
  }
}

function showMetricChoices(shown) {
  const names = Object.keys(state.metrics);
  const boxes = names.map((name) => {
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.value = name;
    box.checked = shown.includes(name);
    box.addEventListener("change", () => {
      state.chosen = [...document.querySelectorAll("#metric-boxes input:checked")].map((b) => b.value);
      if (!state.chosen.length) state.chosen = null;
      refresh(false);
    });
    label.append(box, document.createTextNode(name));
    return label;
  });
  $("metric-boxes").replaceChildren(...boxes);
  $("no-metrics").hidden = names.length > 0;
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function effectRow(result, relative) {
  const row = document.createElement("tr");
  row.append(cell(result.metric), cell(result.variant));
  const effect = result.effect;
  if (!effect) {  // the analysis says why it cannot support a result
    const why = cell(result.unsupported || "Not enough data for a result.", "unsupported");
    why.colSpan = 6;
    row.append(why);
    return row;
  }
  row.append(
    cell(number(effect.control_mean), "num"),
    cell(number(effect.treatment_mean), "num"),
    cell(effectText(effect.estimate, relative), "num"),
    cell(`${effectText(effect.ci_low, relative)} … ${effectText(effect.ci_high, relative)}`, "num"),
    cell(pValue(result.adjusted_p_value ?? effect.p_value), "num"),
    cell(result.verdict, result.verdict),
  );
  return row;
}

// ---- charts ----------------------------------------------------------------------------

const LAYOUT = {
  margin: { l: 10, r: 20, t: 10, b: 40 },
  font: { family: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif', size: 13 },
  paper_bgcolor: "rgba(0,0,0,0)",
  plot_bgcolor: "rgba(0,0,0,0)",
};
const CONFIG = { displaylogo: false, responsive: true };
const PALETTE = ["#4c78a8", "#f58518", "#54a24b", "#b279a2", "#e45756", "#72b7b2"];
const VERDICT_COLOURS = { better: "#237a4b", worse: "#c62f25" };

function axisTitle(relative) {
  return { text: relative ? "lift (%)" : "difference" };
}

function drawEffects(results, relative) {
  const shown = results.filter((r) => r.effect);
  $("effects-figure").hidden = shown.length === 0 || !window.Plotly;
  if ($("effects-figure").hidden) return;
  const scale = relative ? 100 : 1;
  const trace = {
    type: "scatter",
    mode: "markers",
    x: shown.map((r) => r.effect.estimate * scale),
    y: shown.map((r) => `${r.metric} · ${r.variant}`),
    error_x: {
      type: "data",
      symmetric: false,
      array: shown.map((r) => (r.effect.ci_high - r.effect.estimate) * scale),
      arrayminus: shown.map((r) => (r.effect.estimate - r.effect.ci_low) * scale),
    },
    marker: { size: 10, color: shown.map((r) => VERDICT_COLOURS[r.verdict] || PALETTE[0]) },
    hovertemplate: relative ? "%{x:.1f}%<extra></extra>" : "%{x:.3g}<extra></extra>",
  };
  const layout = {
    ...LAYOUT,
    height: 80 + 40 * shown.length,
    xaxis: { title: axisTitle(relative), zeroline: true, zerolinewidth: 2 },
    yaxis: { automargin: true },
  };
  window.Plotly.react($("effects-chart"), [trace], layout, CONFIG);
}

function pathTraces(name, path, colour, scale) {
  const x = path.map((p) => p.at);
  const bound = (key) => ({
    type: "scatter", mode: "lines", x, y: path.map((p) => p[key] * scale), legendgroup: name,
    showlegend: false, hoverinfo: "skip", line: { color: colour, dash: "dot", width: 1 },
  });
  return [
    bound("ci_low"),
    bound("ci_high"),
    { type: "scatter", mode: "lines+markers", name, x, y: path.map((p) => p.estimate * scale),
      legendgroup: name, line: { color: colour } },
  ];
}

function drawPaths(points, relative) {
  const steps = new Set(points.map((p) => p.at));
  $("paths-figure").hidden = steps.size < 2 || !window.Plotly;
  if ($("paths-figure").hidden) return;
  const scale = relative ? 100 : 1;
  const series = {};
  for (const point of points) (series[`${point.metric} · ${point.variant}`] ||= []).push(point);
  const traces = Object.entries(series).flatMap(([name, path], i) =>
    pathTraces(name, path, PALETTE[i % PALETTE.length], scale));
  const layout = {
    ...LAYOUT,
    height: 320,
    margin: { ...LAYOUT.margin, t: 30 },
    legend: { orientation: "h", x: 0, y: 1, yanchor: "bottom" },
    xaxis: { automargin: true, nticks: 4 },
    yaxis: { title: axisTitle(relative), zeroline: true, automargin: true },
  };
  window.Plotly.react($("paths-chart"), traces, layout, CONFIG);
}

// ---- putting it together ---------------------------------------------------------------

async function refresh(withList = true) {
  try {
    if (withList) await loadList();
    markCurrent();
    writeAddress();
    await loadResult();
    showError(null);
    $("updated").textContent = `Updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    showError(error);
  } finally {
    loads += 1;
    document.body.dataset.loads = String(loads);
  }
}

readAddress();
$("since-change").addEventListener("click", () => {
  state.since = $("since-change").dataset.since;
  refresh(false);
});
$("all-units").addEventListener("click", () => {
  state.since = null;
  refresh(false);
});
$("refresh").addEventListener("click", () => refresh(true));
refresh(true);
