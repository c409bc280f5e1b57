// The reviewer's page: the most urgent flagged listing large, with each flagged policy's
// score, reasons and evidence; Approve (A) or Remove (R) records the decision and the next
// listing appears; J / K move through the queue. The listing shown is claimed for the
// reviewer, so two reviewers never decide the same listing at once. Everything comes from
// this server; the reviewer's name is remembered in this browser.
"use strict";

const QUEUE_SIZE = 20;
const CLAIM_SECONDS = 180;
const NAME_KEY = "furima.reviewer";
const $ = (id) => document.getElementById(id);
const state = { items: [], index: 0, peek: null, claimed: null, busy: false, refreshes: 0 };

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(url, body) {
  const options = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  };
  const response = await fetch(url, options);
  const payload = await response.json().catch(() => ({}));
  if (!response.ok) {
    const message = payload.error ? payload.error.message : `The server answered ${response.status}.`;
    throw new HttpError(response.status, message);
  }
  return payload;
}

function say(id, text) {
  $(id).textContent = text || "";
  $(id).hidden = !text;
  $("messages").hidden = $("error").hidden && $("notice").hidden;
}

const showError = (error) => say("error", error ? String(error.message || error) : "");
const showNotice = (text) => say("notice", text);
const reviewer = () => $("reviewer").value.trim();
const current = () => state.peek || state.items[state.index] || null;
const titleOf = (item) => item.name || `Listing ${item.listing_id}`;

function formatPrice(price) {
  return typeof price === "number" ? price.toLocaleString("en", { maximumFractionDigits: 2 }) : "No price";
}

function waiting(iso) {
  const minutes = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 60000));
  if (minutes < 60) return `${minutes} min`;
  if (minutes < 48 * 60) return `${Math.round(minutes / 60)} h`;
  return `${Math.round(minutes / 1440)} days`;
}

function photoInto(box, item, alt) {
  box.replaceChildren();
  if (!item.photo_url) {
    box.textContent = "No photo";
    return;
  }
  const img = document.createElement("img");
  img.alt = alt;
  img.addEventListener("error", () => { box.textContent = "The photo could not be shown"; });
  img.src = item.photo_url;
  box.append(img);
}

function node(tag, text, className) {
  const element = document.createElement(tag);
  if (text !== undefined) element.textContent = text;
  if (className) element.className = className;
  return element;
}

function listingLink(id) {
  const link = node("a", `listing ${id}`);
  link.href = `#/listing/${encodeURIComponent(id)}`;
  return link;
}

function evidenceLine(evidence) {
  const li = node("li");
  const lead = {
    rule: "Matched rule: ", price_range: "Expected price: ", words: "Telling words: ",
    example: "Like the policy's example ", photo: "Photo: ", duplicate: "Duplicate: ",
    similar_listing: "Similar: ",
  }[evidence.kind];
  if (evidence.kind === "example") {
    li.append(lead, node("q", evidence.detail));
  } else {
    li.append((lead || "") + evidence.detail);
  }
  if (evidence.listing_id) li.append(" — ", listingLink(evidence.listing_id));
  if (typeof evidence.similarity === "number") {
    li.append(` (similarity ${evidence.similarity.toFixed(2)})`);
  }
  return li;
}

function policyCard(verdict, decided) {
  const card = $("policy-card").content.firstElementChild.cloneNode(true);
  card.dataset.policy = verdict.policy;
  card.dataset.decision = verdict.decision;
  card.querySelector(".policy-name").textContent = verdict.policy.replaceAll("_", " ");
  const badge = card.querySelector(".badge");
  badge.textContent = verdict.decision;
  badge.classList.add(`is-${verdict.decision}`);
  const score = card.querySelector(".score");
  score.textContent = `${Math.round(verdict.score * 100)}%`;
  score.append(node("small", `flags at ${Math.round(verdict.threshold * 100)}%`));
  const meter = card.querySelector(".meter");
  meter.setAttribute("aria-label", `score ${verdict.score.toFixed(2)}, threshold ${verdict.threshold}`);
  meter.querySelector(".meter-fill").style.width = `${Math.min(100, verdict.score * 100)}%`;
  meter.querySelector(".meter-threshold").style.left = `${verdict.threshold * 100}%`;
  card.querySelector(".reasons").replaceChildren(...verdict.reasons.map((r) => node("li", r)));
  card.querySelector(".evidence").replaceChildren(...verdict.evidence.map(evidenceLine));
  const confirm = card.querySelector(".confirm");
  if (decided) confirm.remove();
  else confirm.querySelector("input").setAttribute("aria-label", `Confirm ${verdict.policy} on removal`);
  return card;
}

function fillPolicies(item) {
  const byName = new Map(item.verdicts.map((v) => [v.policy, v]));
  const flagged = item.flagged.map((name) => byName.get(name)).filter(Boolean);
  $("policies").replaceChildren(...flagged.map((v) => policyCard(v, Boolean(item.reviewed))));
  const others = item.verdicts.filter((v) => !item.flagged.includes(v.policy));
  $("others").hidden = others.length === 0;
  $("others-summary").textContent = `Other checks passed (${others.length})`;
  $("others-list").replaceChildren(...others.map((v) =>
    node("li", `${v.policy.replaceAll("_", " ")}: ${Math.round(v.score * 100)}% (threshold ${Math.round(v.threshold * 100)}%)`)));
}

function fillItem(item) {
  $("current").dataset.id = item.listing_id;
  photoInto($("item-photo"), item, titleOf(item));
  $("item-action").textContent = item.decision === "block" ? "Blocked" : "Needs review";
  $("item-action").className = `badge is-${item.decision}`;
  $("item-category").textContent = [item.category, item.brand].filter(Boolean).join(" · ");
  $("item-title").textContent = titleOf(item);
  $("item-price").textContent = formatPrice(item.price);
  $("item-description").textContent = item.description || "";
  $("item-risk").textContent = item.risk.toFixed(2);
  $("item-uncertainty").textContent = item.uncertainty.toFixed(2);
  $("item-waiting").textContent = waiting(item.enqueued_at);
  $("item-id").textContent = item.listing_id;
  fillPolicies(item);
  const done = item.reviewed;
  $("decided").hidden = !done;
  if (done) {
    const verb = done.outcome === "remove" ? "Removed" : "Approved";
    $("decided").textContent = `${verb} by ${done.reviewer} on ${new Date(done.decided_at).toLocaleString()}.`;
  }
  $("approve").disabled = $("remove").disabled = state.busy || Boolean(done);
}

function queueRow(item, position) {
  const row = $("queue-row").content.firstElementChild.cloneNode(true);
  const button = row.querySelector(".queue-item");
  button.dataset.id = item.listing_id;
  button.setAttribute("aria-current", String(!state.peek && position === state.index));
  button.addEventListener("click", () => select(position));
  if (item.photo_url) {
    const img = node("img");
    img.alt = "";
    img.src = item.photo_url;
    row.querySelector(".thumb").append(img);
  }
  row.querySelector(".queue-title").textContent = titleOf(item);
  row.querySelector(".queue-policies").textContent = item.flagged.join(", ").replaceAll("_", " ");
  const risk = row.querySelector(".risk");
  risk.textContent = item.risk.toFixed(2);
  risk.classList.add(item.risk >= 0.8 ? "high" : item.risk >= 0.5 ? "mid" : "low");
  risk.title = `risk ${item.risk.toFixed(2)}, uncertainty ${item.uncertainty.toFixed(2)}`;
  return row;
}

function render() {
  const item = current();
  $("current").hidden = !item;
  $("empty").hidden = Boolean(item);
  $("back").hidden = !state.peek;
  if (item) fillItem(item);
  $("queue").replaceChildren(...state.items.map(queueRow));
  $("queue").dataset.count = String(state.items.length);
}

function showStats(stats) {
  $("counts").textContent = `${stats.pending} waiting · ${stats.decided} decided`;
  const select = $("policy-filter");
  const chosen = select.value;
  const options = Object.entries(stats.by_policy)
    .filter(([name, counts]) => counts.pending > 0 || name === chosen)
    .map(([name, counts]) => new Option(`${name.replaceAll("_", " ")} (${counts.pending})`, name));
  select.replaceChildren(new Option(`All policies (${stats.pending})`, ""), ...options);
  select.value = chosen;
}

async function refresh() {
  const ticket = ++state.refreshes;
  const query = new URLSearchParams({ limit: String(QUEUE_SIZE) });
  if ($("policy-filter").value) query.set("policy", $("policy-filter").value);
  if (reviewer()) query.set("reviewer", reviewer());
  const answer = await api(`/v1/review/queue?${query}`);
  if (ticket !== state.refreshes) return; // a newer refresh is on its way
  const keep = current() && !state.peek ? current().listing_id : null;
  state.items = answer.items;
  const kept = state.items.findIndex((item) => item.listing_id === keep);
  state.index = kept >= 0 ? kept : Math.min(state.index, Math.max(0, state.items.length - 1));
  showStats(answer.stats);
  render();
  await claimCurrent();
}

function drop(listingId) {
  const position = state.items.findIndex((item) => item.listing_id === listingId);
  if (position < 0) return;
  state.items.splice(position, 1);
  if (position < state.index) state.index -= 1;
  state.index = Math.min(state.index, Math.max(0, state.items.length - 1));
}

async function claimCurrent() {
  const item = current();
  if (!item || item.reviewed || !reviewer() || state.claimed === item.listing_id) return;
  state.claimed = item.listing_id;
  try {
    await api(`/v1/review/items/${encodeURIComponent(item.listing_id)}:claim`,
      { reviewer: reviewer(), ttl_seconds: CLAIM_SECONDS });
    $("current").dataset.claimed = item.listing_id;
  } catch (error) {
    state.claimed = null;
    if (error.status !== 409 && error.status !== 404) throw error;
    showError(`Skipped ${titleOf(item)}: ${error.message}`);
    state.peek = null;
    drop(item.listing_id);
    render();
    await refresh(); // the queue changed under us: new counts, and claim what comes next
  }
}

function select(position) {
  state.peek = null;
  if (location.hash) history.replaceState(null, "", location.pathname);
  if (!state.items.length) {
    render();
    return;
  }
  state.index = Math.max(0, Math.min(position, state.items.length - 1));
  render();
  claimCurrent().catch(showError);
}

function confirmedPolicies() {
  return [...document.querySelectorAll("#policies .policy")]
    .filter((card) => card.querySelector(".confirm input").checked)
    .map((card) => card.dataset.policy);
}

async function decide(outcome) {
  const item = current();
  if (!item || item.reviewed || state.busy) return;
  if (!reviewer()) {
    $("reviewer").classList.add("missing");
    $("reviewer").focus();
    showError("Type your name in the Reviewer box first: every decision records who took it.");
    return;
  }
  const body = { listing_id: item.listing_id, reviewer: reviewer(), outcome, note: $("note").value.trim() };
  if (outcome === "remove") body.policies = confirmedPolicies();
  state.busy = true;
  render();
  try {
    const answer = await api("/v1/review/decisions", body);
    showError(null);
    showNotice(`${outcome === "remove" ? "Removed" : "Approved"} “${titleOf(item)}”.`);
    $("note").value = "";
    finishWith(item.listing_id);
    showStats(answer.stats);
  } catch (error) {
    if (error.status === 409 || error.status === 404) {
      showNotice(null);
      showError(`Not recorded: ${error.message}`);
      finishWith(item.listing_id);
    } else {
      showError(error);
    }
  } finally {
    state.busy = false;
    render();
  }
  refresh().catch(showError);
}

function finishWith(listingId) {
  if (state.peek && state.peek.listing_id === listingId) {
    state.peek = null;
    history.replaceState(null, "", location.pathname);
  }
  drop(listingId);
}

async function route() {
  const [, id] = location.hash.match(/^#\/listing\/(.+)$/) || [];
  if (!id) {
    state.peek = null;
    render();
    return;
  }
  const listingId = decodeURIComponent(id);
  const position = state.items.findIndex((item) => item.listing_id === listingId);
  if (position >= 0) {
    select(position);
    return;
  }
  try {
    state.peek = await api(`/v1/review/items/${encodeURIComponent(listingId)}`);
    render();
    window.scrollTo(0, 0);
    await claimCurrent();
  } catch (error) {
    history.replaceState(null, "", location.pathname);
    showError(error);
  }
}

function onKey(event) {
  const typing = event.target.closest && event.target.closest("input, select, textarea");
  if (event.ctrlKey || event.metaKey || event.altKey || typing) {
    return;
  }
  const actions = {
    a: () => decide("approve"), r: () => decide("remove"),
    j: () => select(state.index + 1), k: () => select(state.index - 1),
    escape: () => state.peek && select(state.index),
  };
  const action = actions[event.key.toLowerCase()];
  if (action) {
    event.preventDefault();
    action();
  }
}

function start() {
  $("reviewer").value = localStorage.getItem(NAME_KEY) || "";
  $("reviewer").addEventListener("change", () => {
    localStorage.setItem(NAME_KEY, reviewer());
    $("reviewer").classList.toggle("missing", !reviewer());
    state.claimed = null;
    showError(null);
    refresh().catch(showError);
  });
  $("policy-filter").addEventListener("change", () => refresh().catch(showError));
  $("approve").addEventListener("click", () => decide("approve"));
  $("remove").addEventListener("click", () => decide("remove"));
  $("back").addEventListener("click", () => select(state.index));
  $("reload").addEventListener("click", () => refresh().catch(showError));
  document.addEventListener("keydown", onKey);
  window.addEventListener("hashchange", () => route().catch(showError));
  refresh().then(route).catch(showError);
}

start();
