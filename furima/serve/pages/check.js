// The seller's page, "Check before posting": the draft as edited (or the typed words alone) goes
// to POST /v1/listings:check, and the answer is shown in a seller's words. Uses app.js's
// helpers ($, el, state, listing, categoryNames, fieldValue, MESSAGES). Vanilla JS, no build.
"use strict";

const CHECK_PATH = "/v1/listings:check";
const checking = {
  served: null,      // true / false once /openapi.json said; null: unknown, try and see
  requestId: 0,      // newer checks win over slower older ones
  shown: false,      // an answer is on screen (edits after it make it stale)
};

const VERDICTS = {
  allow: { headline: "Ready to post: nothing in this listing breaks our rules", mark: "✓" },
  review: {
    headline: "A person will look at this listing before it goes live",
    intro: "What they will look at:",
    mark: "!",
  },
  block: {
    headline: "This listing cannot be posted",
    intro: "Change this, then check again:",
    mark: "✕",
  },
};

// The server starts each problem's message with its decision ("This listing cannot be posted:
// ..."); under a headline that already says so, only the reason is shown.
const LEADS = {
  block: "This listing cannot be posted: ",
  review: "Someone from our team will look at this listing before it goes live: ",
};

// Evidence that points at another listing the seller could look up (not a known violation).
const POINTS_AT_LISTING = new Set(["duplicate", "similar_listing"]);

const CHECK_MESSAGES = {
  unavailable: "Checking listings is not available on this server.",
  empty: "Add a photo, a title or a few words about your item, then check it.",
  tooLarge: "This photo is too large to be checked. Remove the photo to check the words " +
    "alone, or choose a smaller photo.",
  busy: "Many listings are being checked right now. Please try again in a few seconds.",
  starting: "Checking is still starting up. Please try again in a few seconds.",
  stale: "You changed the listing after this check. Check it again before posting.",
};

// ---- is the check served here? ------------------------------------------------------------

async function probeCheck() {
  try {
    const response = await fetch("/openapi.json");
    if (response.ok) {
      const spec = await response.json();
      checking.served = Boolean(spec.paths && spec.paths[CHECK_PATH]);
    }
  } catch (error) {
    checking.served = null;  // unknown: the buttons stay, a 404 on click hides them
  }
  syncCheckButtons();
}

function syncCheckButtons() {
  const available = checking.served !== false;
  $("check-draft").hidden = !available || !$("result").hidden;
  $("check-listing").hidden = !available;
}

// ---- the draft sent -----------------------------------------------------------------------

async function checkDraft() {
  const draft = {};
  const put = (key, value) => { if (value != null && value !== "") draft[key] = value; };
  if (state.suggestion && !$("result").hidden) {
    const edited = listing();
    put("name", edited.title);
    put("description", edited.description);
    put("brand", edited.brand);
    put("category", categoryNames().map(fieldValue).filter(Boolean).join("/"));
    if (edited.price > 0) draft.price = edited.price;
  } else {
    put("description", $("text").value.trim());
    put("brand", $("brand-input").value.trim());
  }
  if (state.photo) draft.photo = await base64Of(state.photo);
  return draft;
}

function base64Of(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

// ---- asking the server --------------------------------------------------------------------

async function runCheck() {
  const draft = await checkDraft().catch(() => null);
  if (!draft) return showCheckNote(MESSAGES.unknown, "error");
  if (!draft.name && !draft.description && !draft.photo) {
    return showCheckNote(CHECK_MESSAGES.empty, "note");
  }
  const id = ++checking.requestId;
  setCheckBusy(true);
  try {
    const response = await fetch(CHECK_PATH, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(draft),
    });
    const body = await response.json().catch(() => null);
    if (id !== checking.requestId) return;
    if (response.status === 404) {
      checking.served = false;
      syncCheckButtons();
      showCheckNote(CHECK_MESSAGES.unavailable, "note");
    } else if (!response.ok) {
      showCheckNote(checkErrorMessage(response.status, body), "error");
    } else {
      showVerdict(body);
    }
  } catch (error) {
    if (id === checking.requestId) showCheckNote(MESSAGES.network, "error");
  } finally {
    if (id === checking.requestId) setCheckBusy(false);
  }
}

function checkErrorMessage(status, body) {
  if (status === 413) return CHECK_MESSAGES.tooLarge;
  if (status === 429) return CHECK_MESSAGES.busy;
  if (status === 503) return CHECK_MESSAGES.starting;
  if (body && body.error && body.error.message) return body.error.message;
  return MESSAGES.unknown;
}

function setCheckBusy(busy) {
  $("check-box").hidden = false;
  $("check-busy").hidden = !busy;
  $("check-draft").disabled = busy;
  $("check-listing").disabled = busy;
  if (busy) $("check-answer").replaceChildren();
}

// ---- showing the answer -------------------------------------------------------------------

function showCheckNote(message, kind) {
  checking.shown = false;
  $("check-box").hidden = false;
  $("check-answer").replaceChildren(el("p", { class: `check-note ${kind}`, text: message }));
}

function showVerdict(answer) {
  const decision = VERDICTS[answer.decision] ? answer.decision : "review";
  const verdict = VERDICTS[decision];
  const problems = (answer.problems || []).filter((p) => p.decision !== "allow");
  const card = el("div", { class: `verdict ${decision}`, "data-decision": decision },
    el("p", { class: "verdict-headline" },
      el("span", { class: "verdict-mark", "aria-hidden": "true", text: verdict.mark }),
      el("span", { class: "verdict-title", text: verdict.headline })),
    problems.length && verdict.intro ? el("p", { class: "verdict-intro", text: verdict.intro }) : null,
    problems.length ? el("ul", { class: "problems" },
      ...problems.map((problem) => problemItem(problem, decision, answer.policies || []))) : null,
    el("p", { class: "check-stale", text: CHECK_MESSAGES.stale, hidden: "" }),
    policyDetails(answer.policies || []));
  $("check-box").hidden = false;
  $("check-answer").replaceChildren(card);
  checking.shown = true;
  card.scrollIntoView({ behavior: "smooth", block: "nearest" });
}

function problemItem(problem, decision, policies) {
  const item = el("li", { "data-policy": problem.policy },
    el("span", { class: "problem-text", text: sellerWords(problem, decision) }));
  const others = otherListings(policies.find((p) => p.policy === problem.policy));
  if (others.length) {
    const what = others.length === 1 ? "listing" : "listings";
    item.append(el("span", { class: "looks-like", text: `Looks like ${what} ${others.join(", ")}` }));
  }
  return item;
}

function sellerWords(problem, decision) {
  const lead = LEADS[problem.decision];
  const message = problem.message || "";
  if (problem.decision !== decision || !lead || !message.startsWith(lead)) return message;
  const reason = message.slice(lead.length);
  return reason.charAt(0).toUpperCase() + reason.slice(1);
}

function otherListings(policy) {
  const ids = ((policy && policy.evidence) || [])
    .filter((e) => e.listing_id != null && POINTS_AT_LISTING.has(e.kind))
    .map((e) => String(e.listing_id));
  return [...new Set(ids)];
}

function policyDetails(policies) {
  const rows = policies.map((p) => el("tr", { "data-policy": p.policy },
    el("th", { scope: "row", text: p.policy }),
    el("td", { text: Number(p.score).toFixed(2) }),
    el("td", { text: Number(p.threshold).toFixed(2) }),
    el("td", { text: p.decision })));
  return el("details", { class: "check-details" },
    el("summary", { text: "Details" }),
    el("p", { class: "hint", text: "Each rule's score, from 0 to 1, and the score at which it acts." }),
    el("table", {},
      el("thead", {}, el("tr", {},
        el("th", { scope: "col", text: "Rule" }), el("th", { scope: "col", text: "Score" }),
        el("th", { scope: "col", text: "Acts at" }), el("th", { scope: "col", text: "Result" }))),
      el("tbody", {}, ...rows)));
}

function markCheckStale() {
  if (!checking.shown) return;
  const note = $("check-answer").querySelector(".check-stale");
  if (note) note.hidden = false;
}

// After a suggestion the step moves next to the listing's actions and starts afresh.
function onSuggestion() {
  checking.requestId += 1;
  checking.shown = false;
  $("check-slot").append($("check-box"));
  $("check-box").hidden = true;
  $("check-busy").hidden = true;
  $("check-answer").replaceChildren();
  syncCheckButtons();
}

document.addEventListener("DOMContentLoaded", () => {
  $("check-draft").addEventListener("click", runCheck);
  $("check-listing").addEventListener("click", runCheck);
  for (const name of ["input", "change"]) {
    document.querySelector("main").addEventListener(name, markCheckStale);
  }
  $("clear-photo").addEventListener("click", markCheckStale);
  document.addEventListener("furima:suggestion", onSuggestion);
  probeCheck();
});
