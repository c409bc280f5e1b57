// The buyer's page: a "for you" feed for a chosen buyer, and a listing page with
// "more like this". Everything comes from this server; the address keeps the view
// (#/user/<id> or #/listing/<id>) so the back button works.
"use strict";

const FEED_SIZE = 20;
const MORE_SIZE = 10;
const $ = (id) => document.getElementById(id);
let currentUser = null;

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

function showError(error) {
  $("error").textContent = error ? String(error.message || error) : "";
  $("error").hidden = !error;
}

function formatPrice(price) {
  return typeof price === "number" ? price.toLocaleString("en", { maximumFractionDigits: 2 }) : "";
}

function fillPhoto(box, url, title) {
  box.replaceChildren();
  if (url) {
    const img = document.createElement("img");
    img.src = url;
    img.alt = title || "Listing photo";
    box.append(img);
  } else {
    box.setAttribute("aria-label", "No photo");
  }
}

function card(item) {
  const node = $("card").content.firstElementChild.cloneNode(true);
  node.dataset.id = item.id;
  const link = node.querySelector(".card-link");
  link.href = `#/listing/${encodeURIComponent(item.id)}`;
  fillPhoto(node.querySelector(".photo"), item.photo_url, item.title);
  node.querySelector(".title").textContent = item.title || `Listing ${item.id}`;
  node.querySelector(".price").textContent = formatPrice(item.price);
  node.querySelector(".reason").textContent = item.reason;
  return node;
}

function fillList(list, notes, answer) {
  list.replaceChildren(...answer.items.map(card));
  notes.replaceChildren(...answer.notes.map((note) => {
    const li = document.createElement("li");
    li.textContent = note;
    return li;
  }));
}

async function showFeed(user) {
  currentUser = user;
  $("user-select").value = user;
  $("listing-view").hidden = true;
  $("feed-view").hidden = false;
  $("feed").setAttribute("aria-busy", "true");
  const answer = await getJson("/v1/recommend", { user_id: user, k: FEED_SIZE });
  fillList($("feed"), $("feed-notes"), answer);
  $("feed").setAttribute("aria-busy", "false");
  $("feed").dataset.user = user;
}

async function showListing(id) {
  $("feed-view").hidden = true;
  $("listing-view").hidden = false;
  $("more").setAttribute("aria-busy", "true");
  const [listing, more] = await Promise.all([
    getJson(`/v1/recommend/listings/${encodeURIComponent(id)}`),
    getJson("/v1/similar-items", { listing_id: id, k: MORE_SIZE }),
  ]);
  fillPhoto($("listing-photo"), listing.photo_url, listing.title);
  $("listing-title").textContent = listing.title || `Listing ${id}`;
  $("listing-category").textContent = listing.category || "";
  $("listing-price").textContent = formatPrice(listing.price);
  fillList($("more"), $("more-notes"), more);
  $("more").setAttribute("aria-busy", "false");
  $("more").dataset.listing = id;
  window.scrollTo(0, 0);
}

async function route() {
  showError(null);
  const [, kind, value] = location.hash.match(/^#\/(user|listing)\/(.+)$/) || [];
  try {
    if (kind === "listing") {
      await showListing(decodeURIComponent(value));
    } else {
      await showFeed(kind === "user" ? decodeURIComponent(value) : $("user-select").value);
    }
  } catch (error) {
    showError(error);
  }
}

async function start() {
  try {
    const { users } = await getJson("/v1/recommend/users?n=12");
    $("user-select").replaceChildren(...users.map((user) => new Option(user, user)));
  } catch (error) {
    showError(error);
    return;
  }
  $("user-select").addEventListener("change", (event) => {
    location.hash = `#/user/${encodeURIComponent(event.target.value)}`;
  });
  $("back").addEventListener("click", () => {
    location.hash = `#/user/${encodeURIComponent(currentUser || $("user-select").value)}`;
  });
  window.addEventListener("hashchange", route);
  await route();
}

start();
