// The screen pop (C3, C4): who is calling, masked accounts, recent contacts, what the IVR
// collected and did, the queue and the wait. The site never sends sensitive values (D3);
// this only shows what it is given, as text.

import { verifiedText } from "./desk/status.js";
import { dateTime, duration, t } from "./i18n.js";
import { el } from "./ui.js";

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
const IDENTITY = ["unverified", "network", "verified", "unknown"];

function identityText(value) {
  if (!value) return null;
  return IDENTITY.includes(value) ? t(`pop.identity.${value}`) : value;
}

function customerTitle(name, identity) {
  const title = el("h3", {}, name);
  if (identity === "unverified") title.append(" ", el("span", { class: "unverified", title: t("pop.identity.unverified") }, t("pop.unverified")));
  return title;
}

function accounts(list) {
  if (!list || !list.length) return null;
  return el("div", { class: "pop-block" }, el("h3", {}, t("pop.accounts")),
    el("ul", {}, ...list.map((a) => el("li", {}, `${a.kind}: ${a.number}${a.currency ? ` (${a.currency})` : ""}`))));
}

function history(list) {
  const block = el("div", { class: "pop-block" }, el("h3", {}, t("pop.recent")));
  if (!list || !list.length) {
    block.append(el("p", {}, t("pop.noContacts")));
    return block;
  }
  const head = el("tr", {}, ...["pop.when", "pop.queue", "pop.agent", "pop.outcome", "pop.site"].map((h) => el("th", { scope: "col" }, t(h))));
  const body = list.map((h) => el("tr", {},
    el("td", {}, h.at ? dateTime(h.at) : "-"),
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
    parts.push(el("div", { class: "pop-block" }, customerTitle(c ? c.name : t("pop.unknownCaller"), c && pop.identity), rows([
      [t("pop.identity"), c ? identityText(pop.identity) : null],
      [t("pop.callerNumber"), pop.caller_number],
      [t("pop.dialled"), pop.dialled_number],
      [t("pop.customerNumber"), c && c.customer_number],
      [t("pop.segment"), c && c.segment],
      [t("pop.language"), c && c.language],
      [t("pop.homeBranch"), c && c.home_site],
      [t("pop.queue"), pop.queue],
      [t("pop.waited"), duration(pop.waited_s)],
      [t("pop.verified"), verifiedText(pop.verified), "pop-verified"],
      [t("pop.failovers"), pop.failovers ? String(pop.failovers) : null],
    ])));
    parts.push(accounts(c && c.accounts));
    parts.push(history(pop.history));
    const ivr = pop.ivr || {};
    parts.push(keyValues(t("pop.collected"), ivr.collected));
    parts.push(keyValues(t("pop.callData"), ivr.attributes));
    if (ivr.actions && ivr.actions.length) {
      parts.push(el("div", { class: "pop-block" }, el("h3", {}, t("pop.doneIvr")), el("ul", {}, ...ivr.actions.map((a) => el("li", {}, a)))));
    }
  } else if (data) {
    const identity = data.verified === true ? "verified" : data.attributes && data.attributes.identity;
    parts.push(el("div", { class: "pop-block" }, customerTitle((data.attributes && data.attributes.customer_name) || t("pop.caller"), identity), rows([
      [t("pop.identity"), identityText(identity)],
      [t("pop.segment"), data.segment],
      [t("pop.account"), data.masked_account],
      [t("pop.verified"), verifiedText(data.verified), "pop-verified"],
    ])));
    parts.push(keyValues(t("pop.collected"), data.collected));
    if (data.actions && data.actions.length) {
      parts.push(el("div", { class: "pop-block" }, el("h3", {}, t("pop.doneSoFar")), el("ul", {}, ...data.actions.map((a) => el("li", {}, a)))));
    }
  }
  container.replaceChildren(...parts.filter(Boolean));
}
