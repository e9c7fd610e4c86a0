// Small DOM helpers shared by the agent desktop and the customer page.

export const $ = (id) => document.getElementById(id);

// Build an element: el("li", {class: "x"}, "text", child, ...). Text is never parsed as HTML.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function show(id, visible) {
  $(id).hidden = !visible;
}

// The polite live region: what is going on now.
export function status(text) {
  $("status").textContent = text;
}

// The assertive alert: an error with the server's error_id when there is one.
export function showError(err) {
  const box = $("error");
  if (!err) {
    box.hidden = true;
    box.textContent = "";
    return;
  }
  const id = err.errorId || "client.error";
  const message = err.detail || err.message || String(err);
  box.replaceChildren(el("strong", {}, "Error "), el("code", { class: "error-id" }, id), ": ", message);
  box.hidden = false;
}

// A short line in the page's activity log (newest first, at most 30 lines).
export function logLine(text) {
  const list = $("log");
  if (!list) return;
  const stamp = new Date().toTimeString().slice(0, 8);
  list.prepend(el("li", {}, `${stamp} ${text}`));
  while (list.children.length > 30) list.lastElementChild.remove();
}

export function seconds(value) {
  if (value === null || value === undefined) return "unknown";
  const s = Math.max(0, Math.round(Number(value)));
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

// Run an async UI action: clear the old error, show a new one if it fails.
export function guarded(action) {
  return async (...args) => {
    showError(null);
    try {
      await action(...args);
    } catch (err) {
      showError(err);
    }
  };
}
