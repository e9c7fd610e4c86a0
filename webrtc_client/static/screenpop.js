// The screen pop (C3, C4): who is calling, masked accounts, recent contacts, what the IVR
// collected and did, the queue and the wait. The site never sends sensitive values (D3);
// this only shows what it is given, as text.

import { verifiedText } from "./desk/status.js";
import { el, seconds } from "./ui.js";

// pairs: [term, value, id?]; the id lets the desk keep a row in step with the call (verified).
function rows(pairs) {
  const dl = el("dl");
  for (const [term, value, id] of pairs) {
    if (value === null || value === undefined || value === "") continue;
    dl.append(el("dt", {}, term), el("dd", { id }, value));
  }
  return dl;
}

function keyValues(title, obj) {
  const entries = Object.entries(obj || {});
  if (!entries.length) return null;
  return el("div", { class: "pop-block" }, el("h3", {}, title), rows(entries.map(([k, v]) => [k.replaceAll("_", " "), String(v)])));
}

// identity: how sure the site is that the caller is this customer. "unverified": found by the
// number the caller itself asserts (a web caller) -- ask for the PIN before discussing the account.
const IDENTITY = {
  unverified: "unverified (caller's own number): check the PIN first",
  network: "by network-delivered number",
  verified: "verified",
  unknown: "not identified",
};

function identityText(value) {
  return value ? (IDENTITY[value] || value) : null;
}

function customerTitle(name, identity) {
  const title = el("h3", {}, name);
  if (identity === "unverified") title.append(" ", el("span", { class: "unverified", title: IDENTITY.unverified }, "unverified"));
  return title;
}

function accounts(list) {
  if (!list || !list.length) return null;
  return el("div", { class: "pop-block" }, el("h3", {}, "Accounts"),
    el("ul", {}, ...list.map((a) => el("li", {}, `${a.kind}: ${a.number}${a.currency ? ` (${a.currency})` : ""}`))));
}

function history(list) {
  const block = el("div", { class: "pop-block" }, el("h3", {}, "Recent contacts"));
  if (!list || !list.length) {
    block.append(el("p", {}, "No earlier contacts."));
    return block;
  }
  const head = el("tr", {}, ...["When", "Queue", "Agent", "Outcome", "Site"].map((h) => el("th", { scope: "col" }, h)));
  const body = list.map((h) => el("tr", {},
    el("td", {}, h.at ? new Date(h.at * 1000).toLocaleString() : "-"),
    el("td", {}, h.queue || "-"), el("td", {}, h.agent_id || "-"),
    el("td", {}, h.end_reason || "-"), el("td", {}, h.site || "-")));
  block.append(el("table", {}, el("thead", {}, head), el("tbody", {}, ...body)));
  return block;
}

// pop: the ``ringing`` event's screen_pop; data: call-attached data (connected / consulted).
export function renderPop(container, pop, data) {
  const parts = [];
  if (pop) {
    const c = pop.customer;
    parts.push(el("div", { class: "pop-block" }, customerTitle(c ? c.name : "Unknown caller", c && pop.identity), rows([
      ["Identity", c ? identityText(pop.identity) : null],
      ["Caller number", pop.caller_number],
      ["Dialled", pop.dialled_number],
      ["Customer number", c && c.customer_number],
      ["Segment", c && c.segment],
      ["Language", c && c.language],
      ["Home branch", c && c.home_site],
      ["Queue", pop.queue],
      ["Waited", seconds(pop.waited_s)],
      ["Identity verified", verifiedText(pop.verified), "pop-verified"],
      ["Failovers", pop.failovers ? String(pop.failovers) : null],
    ])));
    parts.push(accounts(c && c.accounts));
    parts.push(history(pop.history));
    const ivr = pop.ivr || {};
    parts.push(keyValues("Collected by the IVR", ivr.collected));
    parts.push(keyValues("Call data", ivr.attributes));
    if (ivr.actions && ivr.actions.length) {
      parts.push(el("div", { class: "pop-block" }, el("h3", {}, "Done in the IVR"), el("ul", {}, ...ivr.actions.map((a) => el("li", {}, a)))));
    }
  } else if (data) {
    const identity = data.verified === true ? "verified" : data.attributes && data.attributes.identity;
    parts.push(el("div", { class: "pop-block" }, customerTitle((data.attributes && data.attributes.customer_name) || "Caller", identity), rows([
      ["Identity", identityText(identity)],
      ["Segment", data.segment],
      ["Account", data.masked_account],
      ["Identity verified", verifiedText(data.verified), "pop-verified"],
    ])));
    parts.push(keyValues("Collected by the IVR", data.collected));
    if (data.actions && data.actions.length) {
      parts.push(el("div", { class: "pop-block" }, el("h3", {}, "Done so far"), el("ul", {}, ...data.actions.map((a) => el("li", {}, a)))));
    }
  }
  container.replaceChildren(...parts.filter(Boolean));
}
