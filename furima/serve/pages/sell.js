// The seller's page, the chance to sell: where the server serves a chance-to-sell model (GET and
// POST /v1/price:sell-chance), one line under the price: the model's sentence at the price in
// the field and the price with the highest expected proceeds, with a button to use it. Asked
// again (debounced) as the seller edits the price or the fields; newer asks win. Not served, or
// any error: nothing is shown. Uses app.js's helpers ($, state, money, fieldValue...).
// Vanilla JS, no build.
"use strict";

const SELL_PATH = "/v1/price:sell-chance";
const SELL_WITHIN_DAYS = 7;
const SELL_DEBOUNCE_MS = 300;
const selling = {
  served: null,     // from /openapi.json: false means never ask; null: not known yet
  model: null,      // GET SELL_PATH: the features the model reads and its longest horizon
  requestId: 0,     // newer asks win over slower older ones
  timer: null,
  best: null,       // the price the "Use" button fills in
};

async function sellModel() {
  if (selling.model || selling.served === false) return selling.model;
  if (selling.served === null) {
    // The API description says whether it is served, with no 404 on the console where not.
    const response = await fetch("/openapi.json");
    const spec = response.ok ? await response.json() : null;
    if (!spec) return null;
    const path = spec.paths ? spec.paths[SELL_PATH] : null;
    selling.served = Boolean(path && path.get && path.post);
  }
  if (!selling.served) return null;
  const response = await fetch(SELL_PATH);  // 503 while loading: asked again next time
  selling.model = response.ok ? await response.json() : null;
  return selling.model;
}

// What the page knows, by the names the price model reads a listing with: each field, the
// category path ("Apparel/Topwear/Tshirts"), brand and condition.
function pageFeatures() {
  const drafted = listing();
  const path = categoryNames().map(fieldValue).filter(Boolean).join("/");
  return { ...drafted.category, ...drafted.attributes, category: path || null,
    brand: drafted.brand, condition: drafted.condition };
}

// Only names the model declares (it refuses others), numbers for its numeric features, and a
// category written as the model learned it where only the case differs.
function sellFeatures(model) {
  const known = pageFeatures();
  const features = {};
  for (const feature of model.features) {
    const value = known[feature.name];
    if (value == null || value === "") continue;
    if (feature.kind === "number") {
      if (Number.isFinite(Number(value))) features[feature.name] = Number(value);
      continue;
    }
    const text = feature.name === "condition" ? conditionWords(feature, value) : String(value);
    const same = (feature.categories || []).find((c) => c.toLowerCase() === text.toLowerCase());
    features[feature.name] = same || text;
  }
  return features;
}

function conditionWords(feature, level) {
  const words = $("condition").selectedOptions[0].textContent.trim();
  const learned = (feature.categories || []).map((c) => c.toLowerCase());
  return learned.includes(words.toLowerCase()) ? words : String(level);
}

function scheduleSellChance(delay) {
  clearTimeout(selling.timer);
  const id = ++selling.requestId;  // answers to older asks are dropped from now on
  if (selling.served === false || !state.suggestion) return;
  $("sell-chance").setAttribute("aria-busy", "true");
  selling.timer = setTimeout(() => askSellChance(id), delay);
}

async function askSellChance(id) {
  const suggested = state.suggestion && state.suggestion.price;
  const price = Number($("price").value);
  if (!suggested || !(suggested.value > 0) || $("price").value.trim() === "" || !(price > 0)) {
    hideSellChance();
    return;
  }
  try {
    const model = await sellModel();
    if (id !== selling.requestId) return;
    if (!model) { hideSellChance(); return; }
    const ask = { reference_price: suggested.value, price, features: sellFeatures(model),
      within_days: Math.min(SELL_WITHIN_DAYS, model.max_within_days) };
    const response = await fetch(SELL_PATH, { method: "POST",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify({ listings: [ask] }) });
    const answer = response.ok ? await response.json() : null;
    if (!answer || answer.model.version !== model.version) selling.model = null;  // re-read
    if (id !== selling.requestId) return;
    if (answer) showSellChance(answer.listings[0]); else hideSellChance();
  } catch (error) {
    if (id === selling.requestId) hideSellChance();
  }
}

function showSellChance(answer) {
  const sentence = answer.explanation.charAt(0).toUpperCase() + answer.explanation.slice(1);
  const best = Math.round(answer.best_price);
  selling.best = best;
  $("sell-chance-text").textContent = `${sentence}. Expected proceeds are highest at ` +
    `${money(best)} (chance ${pct(answer.best_chance)}).`;
  const button = $("use-best");
  button.textContent = `Use ${money(best)}`;
  button.setAttribute("aria-label", `Use ${money(best)} as the price`);
  button.hidden = Number($("price").value) === best;
  $("sell-chance").removeAttribute("aria-busy");
}

function hideSellChance() {
  selling.best = null;
  $("sell-chance-text").textContent = "";
  $("use-best").hidden = true;
  $("sell-chance").removeAttribute("aria-busy");
}

function useBestPrice() {
  if (selling.best == null) return;
  $("price").value = String(selling.best);
  $("price").dispatchEvent(new Event("input", { bubbles: true }));
  $("price").focus();
}

document.addEventListener("DOMContentLoaded", () => {
  for (const id of ["price", "fields", "brand-input"]) {
    $(id).addEventListener("input", () => scheduleSellChance(SELL_DEBOUNCE_MS));
  }
  $("condition").addEventListener("change", () => scheduleSellChance(SELL_DEBOUNCE_MS));
  $("use-best").addEventListener("click", useBestPrice);
  document.addEventListener("furima:suggestion", () => scheduleSellChance(0));
});
