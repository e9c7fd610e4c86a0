// The desktop's panel registry: the core page mounts whatever is registered, in order.
//
// A feature adds a panel without editing the core page: a module of its own calls
//   registerPanel({ id: "knowledge", title: "Knowledge", order: 30,
//                   render(body) { ... }, update(body, desk) { ... } })
// and is loaded beside agent.js (<script type="module" src="/static/...">). update() runs on
// every change of the desk (desk: { state, callId, pop, stats }) and after a switch of
// language; it must not throw. titleKey (a catalogue key, ../i18n.js) translates the title.

import { t } from "../i18n.js";
import { el } from "../ui.js";

const panels = [];
let host = null;
let last = null;

function mount(panel) {
  const titleId = `${panel.id}-title`;
  const body = el("div", { class: "panel-body" });
  const section = el("section", { id: `${panel.id}-panel`, class: "panel", "aria-labelledby": titleId, "data-order": panel.order },
    el("h2", { id: titleId, "data-i18n": panel.titleKey }, panel.titleKey ? t(panel.titleKey) : panel.title), body);
  panel.body = body;
  const after = [...host.children].find((s) => Number(s.dataset.order) > panel.order);
  host.insertBefore(section, after || null);
  if (panel.render) panel.render(body);
  if (last && panel.update) panel.update(body, last);
}

export function registerPanel({ id, title, titleKey = null, order = 100, render = null, update = null }) {
  if (!/^[a-z][a-z0-9-]*$/.test(id) || panels.some((p) => p.id === id)) throw new Error(`bad or duplicate panel id ${id}`);
  const panel = { id, title, titleKey, order, render, update, body: null };
  panels.push(panel);
  if (host) mount(panel);
  return panel;
}

export function mountPanels(container) {
  host = container;
  for (const panel of panels) if (!panel.body) mount(panel);
}

export function updatePanels(desk) {
  last = desk;
  for (const panel of panels) {
    if (!panel.body || !panel.update) continue;
    try {
      panel.update(panel.body, desk);
    } catch (err) {
      console.error(`panel ${panel.id}: ${err}`);
    }
  }
}
