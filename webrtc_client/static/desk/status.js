// One source of truth for the desk's texts (issue 18, defect 3): every text is derived from
// the desk's state, never set by the code path that happened to run last. A notice (a missed
// call, a PIN result) belongs to the agent state it was given in and disappears with it.
// The words come from the catalogue (../i18n.js, defect 9); a notice is kept as a key and
// its parameters, so it follows a switch of language.

import { t } from "../i18n.js";

export const STATES = ["logged_out", "not_ready", "ready", "reserved", "on_call", "on_hold", "after_call_work"];

export function stateLabel(s) {
  return STATES.includes(s) ? t(`state.${s}`) : s;
}

// The call line beside the controls ("Talking", "On hold", ...).
export function callText(desk) {
  if (desk.consulting) return t("call.consulting", { who: desk.consulting });
  if (desk.inIvr) return t("call.ivr");
  return desk.state === "on_hold" ? t("call.onHold") : t("call.talking");
}

export function verifiedText(verified) {
  if (verified === null || verified === undefined) return t("verified.none");
  return verified ? t("verified.yes") : t("verified.no");
}

// A notice's text: { key, params } from the catalogue.
export function noticeText(notice) {
  return t(notice.key, notice.params || {});
}

// desk: { phase: "login" | "logging_in" | "resuming" | "desk", state, reason, ringFrom,
//         reattaching, consulting, inIvr, verified, notice: { state, key, params } | null }
export function statusText(desk) {
  if (desk.phase === "logging_in") return t("status.loggingIn");
  if (desk.phase === "resuming") return t("status.resuming");
  if (desk.phase === "login") return desk.notice ? noticeText(desk.notice) : t("status.notLoggedIn");
  if (desk.reattaching) return t("status.reattaching");
  if (desk.notice && desk.notice.state === desk.state) return noticeText(desk.notice);
  if (desk.ringFrom) return t("status.incoming", { who: desk.ringFrom });
  switch (desk.state) {
    case "ready":
      return t("status.ready");
    case "not_ready":
      return desk.reason ? t("status.notReadyReason", { reason: desk.reason }) : t("status.notReady");
    case "on_call":
    case "on_hold":
      if (desk.inIvr) return t("status.pinIvr");
      if (desk.consulting) return t("status.consulting", { who: desk.consulting });
      if (desk.state === "on_hold") return t("status.onHold");
      return desk.verified === null ? t("status.talking") : t("status.talkingVerified", { v: verifiedText(desk.verified) });
    case "after_call_work":
      return t("status.acw");
    default:
      return stateLabel(desk.state || "logged_out");
  }
}
