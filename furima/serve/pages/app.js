// The seller's page: photo and words in, an editable suggested listing out. Vanilla JS, no build.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  photo: null,        // File chosen or dropped
  previewUrl: null,
  info: null,         // GET /v1/assistant: field groups and limits
  suggestion: null,   // last POST /v1/listings:suggest answer
  requestId: 0,       // newer requests win over slower older ones
};

// Refusals of the photo itself: the preview goes, the seller picks another.
const PHOTO_ERRORS = new Set(["not_an_image", "empty_photo", "unreadable_photo", "photo_too_large"]);

const MESSAGES = {
  network: "We could not reach the server. Check your connection and try again.",
  notReady: "The assistant is still starting up. Please try again in a few seconds.",
  unknown: "Something went wrong on our side. Please try again in a moment.",
};

// ---- server status and limits -------------------------------------------------------------

async function loadInfo() {
  try {
    const response = await fetch("/v1/assistant");
    if (response.ok) {
      state.info = await response.json();
      $("max-upload").textContent = formatMB(state.info.max_upload_bytes);
      $("text").maxLength = state.info.max_text_chars;
      $("server-status").textContent = "";
      return;
    }
    $("server-status").textContent = "Assistant starting…";
  } catch (error) {
    $("server-status").textContent = "Server unreachable";
  }
  setTimeout(loadInfo, 2000);
}

function formatMB(bytes) {
  return `${Math.round(bytes / 1e6)} MB`;
}

// ---- photo: file button and drag-and-drop -------------------------------------------------

function setPhoto(file) {
  hideError();
  if (!file) return;
  const limit = state.info ? state.info.max_upload_bytes : null;
  if (limit && file.size > limit) {
    showError(`That photo is ${(file.size / 1e6).toFixed(1)} MB; photos can be at most ` +
      `${formatMB(limit)}. Please choose a smaller photo or resize it.`);
    return;
  }
  state.photo = file;
  if (state.previewUrl) URL.revokeObjectURL(state.previewUrl);
  state.previewUrl = URL.createObjectURL(file);
  const preview = $("preview");
  preview.hidden = false;
  preview.src = state.previewUrl;
  $("drop-zone").classList.add("has-photo");
  $("clear-photo").hidden = false;
  suggest();  // a photo alone is enough: suggest at once
}

function clearPhoto() {
  state.photo = null;
  if (state.previewUrl) URL.revokeObjectURL(state.previewUrl);
  state.previewUrl = null;
  $("preview").hidden = true;
  $("preview").removeAttribute("src");
  $("drop-zone").classList.remove("has-photo");
  $("clear-photo").hidden = true;
  $("photo-input").value = "";
}

function wirePhotoInputs() {
  const zone = $("drop-zone");
  $("photo-input").addEventListener("change", (event) => setPhoto(event.target.files[0]));
  zone.addEventListener("click", (event) => {
    if (event.target === zone || event.target.id === "preview") $("photo-input").click();
  });
  zone.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      $("photo-input").click();
    }
  });
  for (const name of ["dragenter", "dragover"]) {
    zone.addEventListener(name, (event) => { event.preventDefault(); zone.classList.add("over"); });
  }
  for (const name of ["dragleave", "drop"]) {
    zone.addEventListener(name, () => zone.classList.remove("over"));
  }
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    const file = event.dataTransfer && event.dataTransfer.files[0];
    if (file) setPhoto(file);
  });
  // A photo dropped beside the zone must not navigate away from the page.
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());
  $("clear-photo").addEventListener("click", clearPhoto);
  $("preview").addEventListener("error", () => { if (state.photo) $("preview").hidden = true; });
}

// ---- asking the server --------------------------------------------------------------------

async function suggest() {
  hideError();
  const text = $("text").value.trim();
  if (!state.photo && !text) {
    showError("Add a photo or a few words about your item, then press Suggest.");
    return;
  }
  const form = new FormData();
  if (state.photo) form.append("photo", state.photo, state.photo.name || "photo");
  if (text) form.append("text", text);
  if ($("brand-input").value.trim()) form.append("brand", $("brand-input").value.trim());
  if ($("condition").value) form.append("condition", $("condition").value);

  const id = ++state.requestId;
  setBusy(true);
  try {
    const response = await fetch("/v1/listings:suggest", { method: "POST", body: form });
    const body = await response.json().catch(() => null);
    if (id !== state.requestId) return;
    if (!response.ok) {
      if (body && body.error && PHOTO_ERRORS.has(body.error.type)) clearPhoto();
      showError(errorMessage(response.status, body));
      return;
    }
    render(body);
  } catch (error) {
    if (id === state.requestId) showError(MESSAGES.network);
  } finally {
    if (id === state.requestId) setBusy(false);
  }
}

function errorMessage(status, body) {
  if (body && body.error && body.error.message) return body.error.message;
  if (status === 503) return MESSAGES.notReady;
  if (status === 413) return "That photo is too large. Please choose a smaller photo.";
  return MESSAGES.unknown;
}

function setBusy(busy) {
  $("suggest").disabled = busy;
  $("busy").hidden = !busy;
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = false;
}

function hideError() {
  $("error").hidden = true;
  $("error").textContent = "";
}

// ---- showing a suggestion -----------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}

function pct(confidence) {
  return `${Math.round(confidence * 100)}%`;
}

function categoryNames() {
  if (state.info) return state.info.category;
  return state.suggestion ? state.suggestion.fields.slice(0, 3).map((f) => f.name) : [];
}

function render(suggestion) {
  state.suggestion = suggestion;
  $("result").hidden = false;
  $("placeholder").hidden = true;
  $("json-box").hidden = true;

  const title = $("title");
  title.value = suggestion.title ? suggestion.title.value : "";
  title.dataset.suggested = title.value;
  markEmpty(title);

  const fields = $("fields");
  fields.replaceChildren(...suggestion.fields.map(fieldRow));
  updatePath();

  const price = $("price");
  price.value = suggestion.price ? Math.round(suggestion.price.value) : "";
  price.dataset.suggested = price.value;
  markEmpty(price);
  $("price-range").textContent = suggestion.price
    ? `Similar items sell for ${money(suggestion.price.low)} – ${money(suggestion.price.high)} ` +
      `(${Math.round(suggestion.price.coverage * 100)}% of them fall in this range).`
    : "No price suggestion for this item: please set one.";

  $("notes").replaceChildren(...suggestion.notes.map((note) => el("li", { text: note })));
  $("evidence").replaceChildren(...suggestion.similar.map(evidenceCard));
  document.dispatchEvent(new CustomEvent("furima:suggestion"));  // check.js starts afresh
  if (window.matchMedia("(max-width: 899px)").matches) {
    $("result").scrollIntoView({ behavior: "smooth", block: "start" });
  }
}

function fieldRow(field) {
  const inputId = `field-${field.name}`;
  const input = el("input", {
    id: inputId, type: "text", autocomplete: "off", list: `${inputId}-options`,
    placeholder: "Not sure — please choose",
  });
  input.value = field.value || "";
  input.dataset.suggested = input.value;
  input.dataset.name = field.name;
  const options = el("datalist", { id: `${inputId}-options` },
    ...field.top.map((choice) => el("option", { value: choice.value })));

  const fill = el("div", { class: "bar-fill" });
  fill.style.width = pct(field.confidence);
  const track = el("div", {
    class: "bar-track", role: "meter", "aria-label": `${field.label} confidence`,
    "aria-valuemin": "0", "aria-valuemax": "100",
    "aria-valuenow": String(Math.round(field.confidence * 100)),
  }, fill);

  const picks = el("div", { class: "picks", "aria-label": `${field.label} candidates` },
    ...field.top.map((choice) => pickButton(input, choice)));
  const row = el("div", { class: field.filled ? "field" : "field unsure", "data-field": field.name },
    el("label", { for: inputId },
      el("span", { text: field.label }),
      el("span", { class: "confidence", text: field.filled ? `${pct(field.confidence)} sure` : "not sure" })),
    input, options, track,
    field.filled ? null : el("p", { class: "unsure-hint", text: "Not sure — please choose." }),
    picks);
  input.addEventListener("input", () => onEdit(input, row));
  markEmpty(input);
  syncPicks(row, input.value);
  return row;
}

function pickButton(input, choice) {
  const button = el("button", { type: "button", class: "pick", "data-value": choice.value },
    choice.value, el("span", { class: "pct", text: pct(choice.confidence) }));
  button.addEventListener("click", () => {
    input.value = choice.value;
    input.dispatchEvent(new Event("input", { bubbles: true }));
  });
  return button;
}

function onEdit(input, row) {
  markEmpty(input);
  const hint = row.querySelector(".unsure-hint");
  if (hint) hint.hidden = input.value.trim() !== "";
  syncPicks(row, input.value);
  updatePath();
}

function syncPicks(row, value) {
  for (const button of row.querySelectorAll(".pick")) {
    button.setAttribute("aria-pressed", String(button.dataset.value === value));
  }
}

function markEmpty(input) {
  input.classList.toggle("empty", input.value.trim() === "");
  input.classList.toggle("edited", input.value !== (input.dataset.suggested || ""));
}

function fieldValue(name) {
  const input = document.getElementById(`field-${name}`);
  return input ? input.value.trim() : "";
}

function updatePath() {
  const parts = [];
  categoryNames().forEach((name, index) => {
    if (index > 0) parts.push(el("span", { class: "sep", text: "›" }));
    const value = fieldValue(name);
    parts.push(value ? el("span", { text: value }) : el("span", { class: "missing", text: "please choose" }));
  });
  $("category-path").replaceChildren(...parts);
}

function evidenceCard(listing) {
  const img = el("img", { src: listing.photo_url, alt: listing.title, width: "120", height: "160" });
  img.addEventListener("error", () => { img.alt = "Photo unavailable"; });
  const details = [];
  if (listing.price != null) details.push(money(listing.price));
  details.push(`${pct(listing.score)} similar`);
  return el("li", { "data-id": String(listing.id) }, img,
    el("div", { class: "cap" }, listing.title, el("span", { text: details.join(" · ") })));
}

function money(value) {
  return Number(value).toLocaleString(undefined, { maximumFractionDigits: 0 });
}

// ---- the final listing --------------------------------------------------------------------

function listing() {
  const suggestion = state.suggestion;
  const category = {};
  const attributes = {};
  const edited = [];
  const names = categoryNames();
  for (const field of suggestion.fields) {
    const value = fieldValue(field.name) || null;
    (names.includes(field.name) ? category : attributes)[field.name] = value;
    if ((value || "") !== (field.value || "")) edited.push(field.name);
  }
  const brandField = state.info && state.info.brand;
  const title = $("title").value.trim() || null;
  if (title !== (suggestion.title ? suggestion.title.value : null)) edited.push("title");
  const priceText = $("price").value.trim();
  const price = priceText === "" ? null : Number(priceText);
  if (priceText !== ($("price").dataset.suggested || "")) edited.push("price");
  return {
    title,
    description: $("text").value.trim() || null,
    category,
    category_path: names.map((name) => category[name]).filter(Boolean).join(" > "),
    attributes,
    brand: (brandField && attributes[brandField]) || $("brand-input").value.trim() || null,
    condition: $("condition").value ? Number($("condition").value) : null,
    price,
    similar_listings: suggestion.similar.map((s) => s.id),
    edited_by_seller: edited,
  };
}

function showJson() {
  $("listing-json").textContent = JSON.stringify(listing(), null, 2);
  $("json-box").hidden = false;
  $("copy-status").textContent = "";
  $("json-box").scrollIntoView({ behavior: "smooth", block: "nearest" });
}

async function copyJson() {
  try {
    await navigator.clipboard.writeText($("listing-json").textContent);
    $("copy-status").textContent = "Copied.";
  } catch (error) {
    const range = document.createRange();
    range.selectNodeContents($("listing-json"));
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    $("copy-status").textContent = "Selected: press Ctrl+C (or ⌘C) to copy.";
  }
}

function downloadJson() {
  const blob = new Blob([$("listing-json").textContent], { type: "application/json" });
  const link = el("a", { href: URL.createObjectURL(blob), download: "listing.json" });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

// ---- wiring -------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  wirePhotoInputs();
  $("suggest-form").addEventListener("submit", (event) => { event.preventDefault(); suggest(); });
  $("title").addEventListener("input", () => markEmpty($("title")));
  $("price").addEventListener("input", () => markEmpty($("price")));
  $("get-json").addEventListener("click", showJson);
  $("copy-json").addEventListener("click", copyJson);
  $("download-json").addEventListener("click", downloadJson);
  loadInfo();
});
