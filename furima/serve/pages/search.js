// The buyer's search page: words and/or a photo, a grid of listings, and facets that narrow
// the results. Everything comes from this server (POST /v1/search, GET /v1/search/...). The
// words and filters are kept in the address (#q=...&f.category=...&price=10-50) so a search
// can be reloaded, shared or gone back to; a photo stays in the page only.
"use strict";

const PAGE_SIZE = 24;
const FACET_VALUES_SHOWN = 8;
const MAX_PHOTO_BYTES = 10 * 1000 * 1000;
const MAX_PHOTO_SIDE = 1024;
const $ = (id) => document.getElementById(id);

const state = { query: "", photo: null, photoUrl: null, filters: {}, price: null };
let facetFields = null;  // what the catalog can count, from /v1/search/examples
let searching = 0;
const expandedFacets = new Set();  // fields whose every value shows

// ---- talking to the server -------------------------------------------------------------

async function getJson(url, body) {
  const options = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  };
  const response = await fetch(url, options);
  const payload = await response.json().catch(() => ({}));
  if (!response.ok) {
    const message = payload.error ? payload.error.message : `The server answered ${response.status}.`;
    throw new Error(message);
  }
  return payload;
}

function requestBody(offset) {
  const filters = {};
  for (const [field, values] of Object.entries(state.filters)) {
    if (values.length) filters[field] = values;
  }
  if (state.price) filters.price = state.price;
  const body = { k: PAGE_SIZE, offset };
  if (facetFields) body.facets = facetFields;
  if (state.query) body.query = state.query;
  if (state.photo) body.photo = state.photo;
  if (Object.keys(filters).length) body.filters = filters;
  return body;
}

// ---- the address -----------------------------------------------------------------------

function writeAddress(record) {
  const params = new URLSearchParams();
  if (state.query) params.set("q", state.query);
  for (const [field, values] of Object.entries(state.filters)) {
    for (const value of values) params.append(`f.${field}`, value);
  }
  if (state.price) params.set("price", state.price.map((v) => (v === null ? "" : v)).join("-"));
  const hash = params.toString() ? `#${params}` : "";
  const address = hash || location.pathname;
  // A new search is a step the back button returns from; paging and retries are not.
  if (record && hash !== location.hash) history.pushState(null, "", address);
  else history.replaceState(null, "", address);
}

function readAddress() {
  const params = new URLSearchParams(location.hash.slice(1));
  state.query = (params.get("q") || "").trim();
  state.filters = {};
  for (const [key, value] of params) {
    if (key.startsWith("f.")) (state.filters[key.slice(2)] ||= []).push(value);
  }
  const price = params.get("price");
  state.price = price ? priceRange(...price.split("-")) : null;
}

function priceRange(low, high) {
  const number = (v) => (v === "" || v === undefined || v === null || Number.isNaN(Number(v)) ? null : Number(v));
  const range = [number(low), number(high)];
  return range[0] === null && range[1] === null ? null : range;
}

// ---- showing things --------------------------------------------------------------------

function showError(error) {
  $("error").textContent = error ? String(error.message || error) : "";
  $("error").hidden = !error;
}

function formatPrice(price) {
  return typeof price === "number" ? price.toLocaleString("en", { maximumFractionDigits: 2 }) : "";
}

function label(field) {
  const words = field.replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function card(item) {
  const node = $("card").content.firstElementChild.cloneNode(true);
  node.dataset.id = item.id;
  const photo = node.querySelector(".photo");
  if (item.photo_url) {
    const img = document.createElement("img");
    img.src = item.photo_url;
    img.alt = item.title || `Listing ${item.id}`;
    img.loading = "lazy";
    img.addEventListener("error", () => {  // a photo that will not load: say so, no broken icon
      img.remove();
      photo.classList.add("none");
    });
    photo.prepend(img);
  } else {
    photo.classList.add("none");
  }
  node.querySelector(".price-tag").textContent = formatPrice(item.price);
  node.querySelector(".price-tag").hidden = typeof item.price !== "number";
  node.querySelector(".title").textContent = item.title || `Listing ${item.id}`;
  node.querySelector(".category").textContent = item.category || "";
  return node;
}

function chip(text, onClick, ariaLabel) {
  const li = document.createElement("li");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "chip";
  button.textContent = text;
  if (ariaLabel) button.setAttribute("aria-label", ariaLabel);
  button.addEventListener("click", onClick);
  li.append(button);
  return li;
}

function facetButton(text, count, pressed, onClick) {
  const li = document.createElement("li");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "facet-value";
  button.setAttribute("aria-pressed", String(pressed));
  const name = document.createElement("span");
  name.className = "name";
  name.textContent = text;
  const number = document.createElement("span");
  number.className = "count";
  number.textContent = String(count);
  button.append(name, number);
  button.disabled = count === 0 && !pressed;
  button.addEventListener("click", onClick);
  li.append(button);
  return li;
}

function showFacets(facets) {
  const groups = [];
  for (const [field, values] of Object.entries(facets || {})) {
    const chosen = state.filters[field] || [];
    const all = [...values];
    for (const value of chosen) {
      if (!all.some((v) => String(v.value) === value)) all.push({ value, count: 0 });
    }
    if (all.length) groups.push(facetGroup(field, all, chosen));
  }
  $("facets").replaceChildren(...groups);
}

function facetGroup(field, values, chosen) {
  // The commonest values first; the rest behind "Show all" (a chosen value always shows).
  const group = document.createElement("section");
  group.className = "facet";
  group.dataset.field = field;
  const heading = document.createElement("h2");
  heading.textContent = label(field);
  const list = document.createElement("ul");
  list.className = "facet-values";
  const open = expandedFacets.has(field);
  list.append(...values.map((v, i) => {
    const value = String(v.value);
    const item = facetButton(value, v.count, chosen.includes(value), () => toggleFilter(field, value));
    item.hidden = !open && i >= FACET_VALUES_SHOWN && !chosen.includes(value);
    return item;
  }));
  group.append(heading, list);
  if (values.length > FACET_VALUES_SHOWN) {
    const more = document.createElement("button");
    more.type = "button";
    more.className = "link facet-more";
    more.textContent = open ? "Show fewer" : `Show all ${values.length}`;
    more.addEventListener("click", () => {
      if (open) expandedFacets.delete(field);
      else expandedFacets.add(field);
      group.replaceWith(facetGroup(field, values, chosen));
    });
    group.append(more);
  }
  return group;
}

function priceText(low, high) {
  if (high === null) return `${formatPrice(low)} and over`;
  if (low === null) return `Under ${formatPrice(high)}`;
  return `${formatPrice(low)} – ${formatPrice(high)}`;
}

function filtering() {
  return Object.values(state.filters).some((values) => values.length) || Boolean(state.price);
}

function showPriceBuckets(buckets) {
  $("price-buckets").replaceChildren(...(buckets || []).map((bucket) => {
    const range = [bucket.min ?? null, bucket.max ?? null];
    const text = priceText(...range);
    const pressed = Boolean(state.price) && state.price[0] === range[0] && state.price[1] === range[1];
    return facetButton(text, bucket.count, pressed, () => setPrice(pressed ? null : range));
  }));
  $("price-min").value = state.price && state.price[0] !== null ? state.price[0] : "";
  $("price-max").value = state.price && state.price[1] !== null ? state.price[1] : "";
}

function showActiveFilters() {
  const chips = [];
  for (const [field, values] of Object.entries(state.filters)) {
    for (const value of values) {
      chips.push(chip(`${value} ×`, () => toggleFilter(field, value), `Remove ${label(field)}: ${value}`));
    }
  }
  if (state.price) {
    chips.push(chip(`${priceText(...state.price)} ×`, () => setPrice(null), "Remove the price range"));
  }
  $("active-filters").replaceChildren(...chips);
  const count = chips.length;
  $("filters-toggle").textContent = count ? `Filters (${count})` : "Filters";
}

function heading(answer) {
  const what = state.query ? `“${state.query}”` : "your photo";
  const total = answer.total.toLocaleString("en");
  return `${total} ${answer.total === 1 ? "result" : "results"} for ${what}${state.query && state.photo ? " and your photo" : ""}`;
}

function showAnswer(answer, append) {
  $("welcome").hidden = true;
  $("results-view").hidden = false;
  $("results-heading").textContent = heading(answer);
  $("notes").replaceChildren(...(answer.notes || []).map((note) => {
    const li = document.createElement("li");
    li.textContent = note;
    return li;
  }));
  const cards = answer.results.map(card);
  if (append) $("grid").append(...cards);
  else $("grid").replaceChildren(...cards);
  const shown = $("grid").children.length;
  $("grid").dataset.total = String(answer.total);
  $("more").hidden = shown >= answer.total;
  $("empty").hidden = answer.total > 0;
  $("empty").textContent = answer.total > 0 ? "" : emptyMessage();
  const nothingToNarrow = answer.total === 0 && !filtering();
  $("filters").hidden = nothingToNarrow;
  $("filters-toggle").hidden = nothingToNarrow;
  $("results-view").classList.toggle("no-filters", nothingToNarrow);
  const { price, ...fields } = answer.facets || {};
  showFacets(fields);
  showPriceBuckets(price);
  showActiveFilters();
}

function emptyMessage() {
  return filtering()
    ? "Nothing matches these filters. Remove a filter or try other words."
    : "No listings match your search. Try fewer or other words, or search with a photo.";
}

// ---- searching -------------------------------------------------------------------------

async function search({ append = false, record = true } = {}) {
  showError(null);
  if (!state.query && !state.photo) {
    showError("Type what you are looking for, or add a photo to search with it.");
    return;
  }
  const mine = ++searching;
  const offset = append ? $("grid").children.length : 0;
  $("grid").setAttribute("aria-busy", "true");
  try {
    const answer = await getJson("/v1/search", requestBody(offset));
    if (mine === searching) showAnswer(answer, append);
  } catch (error) {
    if (mine === searching) showError(error);
  } finally {
    if (mine === searching) {
      $("grid").setAttribute("aria-busy", "false");
      document.body.dataset.searches = String(searching);
    }
  }
  writeAddress(record && !append);
}

function foldFiltersOnPhone() {
  // On a phone the filters cover the results: fold them away once one is chosen.
  if ($("filters-toggle").offsetParent === null) return;
  $("filters").classList.remove("open");
  $("filters-toggle").setAttribute("aria-expanded", "false");
}

function toggleFilter(field, value) {
  foldFiltersOnPhone();
  const values = state.filters[field] || [];
  state.filters[field] = values.includes(value) ? values.filter((v) => v !== value) : [...values, value];
  if (!state.filters[field].length) delete state.filters[field];
  search();
}

function setPrice(range) {
  foldFiltersOnPhone();
  state.price = range;
  search();
}

async function usePhoto(file) {
  showError(null);
  if (!file) return;
  if (!file.type.startsWith("image/")) {
    showError("That file is not a photo. Please choose a JPEG, PNG or WebP photo.");
    return;
  }
  if (file.size > MAX_PHOTO_BYTES) {
    showError("That photo is over 10 MB. Please choose a smaller one.");
    return;
  }
  try {
    const blob = await smaller(file);
    state.photo = await base64(blob);
  } catch (error) {
    showError("We could not open that photo. Please choose another JPEG or PNG.");
    return;
  }
  if (state.photoUrl) URL.revokeObjectURL(state.photoUrl);
  state.photoUrl = URL.createObjectURL(file);
  $("photo-thumb").src = state.photoUrl;
  $("photo-chip").hidden = false;
  search();
}

async function smaller(file) {
  // A phone's photo is several MB; the search needs far less. Large photos are scaled down.
  const bitmap = await createImageBitmap(file);
  const scale = MAX_PHOTO_SIDE / Math.max(bitmap.width, bitmap.height);
  if (scale >= 1) return file;
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("no blob"))), "image/jpeg", 0.9);
  });
}

function base64(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1]);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

function clearPhoto() {
  state.photo = null;
  if (state.photoUrl) URL.revokeObjectURL(state.photoUrl);
  state.photoUrl = null;
  $("photo-chip").hidden = true;
  $("photo-input").value = "";
  if (state.query) search();
  else showWelcome();
}

function showWelcome() {
  $("results-view").hidden = true;
  $("welcome").hidden = false;
}

async function showExamples() {
  try {
    const { queries, facets, photo_search: photos } = await getJson("/v1/search/examples");
    facetFields = facets;
    document.querySelector(".camera").hidden = !photos;
    $("examples").replaceChildren(...queries.map((query) => chip(query, () => {
      $("query").value = query;
      state.query = query;
      search();
    })));
  } catch (error) {
    showError(error);
  }
}

async function start() {
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.query = $("query").value.trim();
    state.filters = {};
    state.price = null;
    search();
  });
  $("photo-input").addEventListener("change", (event) => usePhoto(event.target.files[0]));
  $("photo-clear").addEventListener("click", clearPhoto);
  $("more").addEventListener("click", () => search({ append: true }));
  $("price-form").addEventListener("submit", (event) => {
    event.preventDefault();
    setPrice(priceRange($("price-min").value, $("price-max").value));
  });
  $("filters-toggle").addEventListener("click", () => {
    const open = $("filters").classList.toggle("open");
    $("filters-toggle").setAttribute("aria-expanded", String(open));
  });
  window.addEventListener("popstate", () => {
    readAddress();
    $("query").value = state.query;
    if (state.query || state.photo) search({ record: false });
    else showWelcome();
  });
  readAddress();
  $("query").value = state.query;
  await showExamples();
  if (state.query) search({ record: false });
}

start();
