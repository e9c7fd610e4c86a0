// A supervisor's message on the agent desktop (issue 19): a small, dismissable notice.
// The desktop calls showSupervisorMessage(event data) on a "supervisor_message" event; the
// text was masked at the site (no full card or account numbers) and is shown as text, never HTML.

import { el } from "./ui.js";

export function showSupervisorMessage(data) {
  let box = document.getElementById("supervisor-message");
  if (!box) {
    box = el("section", { id: "supervisor-message", role: "alert", "aria-label": "Message from your supervisor" });
    const main = document.querySelector("main") || document.body;
    main.insertBefore(box, main.children[1] || null);
  }
  const at = data.at ? new Date(data.at * 1000).toTimeString().slice(0, 5) : "";
  const close = el("button", { type: "button" }, "Dismiss");
  close.addEventListener("click", () => box.remove());
  box.replaceChildren(
    el("strong", {}, `${data.name || data.from || "Your supervisor"}${at ? ` (${at})` : ""}: `),
    el("span", { class: "supervisor-text" }, data.text || ""),
    " ",
    close,
  );
}
