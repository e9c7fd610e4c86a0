// Hotkeys for the desk (issue 18, defect 8), documented on a help overlay.
//
// Defaults below; an agent (or an administrator's browser profile) overrides them with
// localStorage "cc.hotkeys" = {"answer": "Alt+Q", ...}. A key runs the same button a click
// would (only when that button is shown and enabled), so there is one code path per action.

import { $, el } from "../ui.js";

export const DEFAULT_HOTKEYS = {
  answer: "Alt+A",
  hangup: "Alt+H",
  hold: "Alt+O",
  mute: "Alt+M",
  ready: "Alt+R",
  notReady: "Alt+N",
  help: "Alt+K",
};

const ACTIONS = {
  answer: { label: "Answer the ringing call", buttons: ["answer"] },
  hangup: { label: "Hang up", buttons: ["hangup"] },
  hold: { label: "Hold or resume", buttons: ["hold", "resume"] },
  mute: { label: "Mute or unmute", buttons: ["mute"] },
  ready: { label: "Ready", buttons: ["ready"] },
  notReady: { label: "Not ready (with the chosen reason)", buttons: ["not-ready"] },
  help: { label: "Show or hide this list", buttons: [] },
};

export function loadHotkeys(storage = window.localStorage) {
  let custom = {};
  try {
    custom = JSON.parse(storage.getItem("cc.hotkeys") || "{}");
  } catch (_) {
    custom = {};
  }
  const keys = { ...DEFAULT_HOTKEYS };
  for (const [action, combo] of Object.entries(custom)) if (action in keys && typeof combo === "string") keys[action] = combo;
  return keys;
}

// "Alt+A" from a keydown event (by physical key, so Alt does not change the letter).
export function comboOf(ev) {
  let key = ev.key;
  if (/^Key[A-Z]$/.test(ev.code)) key = ev.code.slice(3);
  else if (/^Digit[0-9]$/.test(ev.code)) key = ev.code.slice(5);
  else if (key.length === 1) key = key.toUpperCase();
  return [ev.ctrlKey && "Ctrl", ev.altKey && "Alt", ev.shiftKey && "Shift", key].filter(Boolean).join("+");
}

function usable(id) {
  const button = $(id);
  return button && !button.disabled && button.offsetParent !== null ? button : null;
}

export function installHotkeys(keys, dialog) {
  const body = el("tbody", {}, ...Object.entries(ACTIONS).map(([action, { label }]) =>
    el("tr", {}, el("td", {}, el("kbd", {}, keys[action])), el("td", {}, label))));
  dialog.querySelector("table").append(body);
  const toggle = () => (dialog.open ? dialog.close() : dialog.showModal());
  $("help-open").addEventListener("click", toggle);
  $("help-close").addEventListener("click", () => dialog.close());
  for (const [action, { buttons }] of Object.entries(ACTIONS)) {
    for (const id of buttons) {
      const button = $(id);
      if (button) button.setAttribute("aria-keyshortcuts", keys[action]);
    }
  }
  document.addEventListener("keydown", (ev) => {
    const combo = comboOf(ev);
    const action = Object.keys(keys).find((a) => keys[a] === combo);
    if (!action) return;
    ev.preventDefault();
    if (action === "help") return toggle();
    const button = ACTIONS[action].buttons.map(usable).find(Boolean);
    if (button) button.click();
  });
}
