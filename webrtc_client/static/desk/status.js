// One source of truth for the desk's texts (issue 18, defect 3): every text is derived from
// the desk's state, never set by the code path that happened to run last. A notice (a missed
// call, a PIN result) belongs to the agent state it was given in and disappears with it.

export const STATE_LABELS = {
  logged_out: "Logged out",
  not_ready: "Not ready",
  ready: "Ready",
  reserved: "Ringing",
  on_call: "On a call",
  on_hold: "Call on hold",
  after_call_work: "After-call work",
};

export function stateLabel(s) {
  return STATE_LABELS[s] || s;
}

// The call line beside the controls ("Talking", "On hold", ...).
export function callText(desk) {
  if (desk.consulting) return `Consulting ${desk.consulting} (caller on hold)`;
  if (desk.inIvr) return "Caller in the IVR";
  return desk.state === "on_hold" ? "On hold" : "Talking";
}

export function verifiedText(verified) {
  if (verified === null || verified === undefined) return "not checked";
  return verified ? "yes" : "no";
}

// desk: { phase: "login" | "logging_in" | "resuming" | "desk", state, reason, ringFrom,
//         reattaching, consulting, inIvr, verified, notice: { state, text } | null, site }
export function statusText(desk) {
  if (desk.phase === "logging_in") return "Logging in...";
  if (desk.phase === "resuming") return "Restoring your session...";
  if (desk.phase === "login") return desk.notice ? desk.notice.text : "Not logged in.";
  if (desk.reattaching) return "The connection to the site was lost. Re-attaching at a backup site...";
  if (desk.notice && desk.notice.state === desk.state) return desk.notice.text;
  if (desk.ringFrom) return `Incoming call from ${desk.ringFrom}.`;
  switch (desk.state) {
    case "ready":
      return "Ready: waiting for a call.";
    case "not_ready":
      return `Not ready${desk.reason ? ` (${desk.reason})` : ""}. Press Ready to take calls.`;
    case "on_call":
    case "on_hold":
      if (desk.inIvr) return "The caller is entering their PIN in the IVR. You cannot hear it.";
      if (desk.consulting) return `Consulting ${desk.consulting}; the caller is on hold.`;
      if (desk.state === "on_hold") return "The caller is on hold.";
      return desk.verified === null ? "Talking." : `Talking. Verified: ${verifiedText(desk.verified)}.`;
    case "after_call_work":
      return "After-call work: choose a wrap-up code.";
    default:
      return stateLabel(desk.state || "logged_out");
  }
}
