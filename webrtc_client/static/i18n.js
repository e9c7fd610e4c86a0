// The one message catalogue (issue 18, defect 9): English and Chinese (Simplified) for the
// agent desktop, the customer page and central's wallboard.
//
// The language is the visible switch's choice (kept in localStorage "cc.lang": a preference,
// not sensitive), else the browser's (navigator.languages). Static texts carry
// data-i18n="key" (text), data-i18n-placeholder / data-i18n-label (aria-label) /
// data-i18n-title; scripts call t("key", {name: value}). Dates, durations and amounts go
// through Intl with the chosen locale.

const EN = {
  "lang.label": "Language",
  // ---- agent desktop: page
  "desk.title": "Agent desktop",
  "desk.help": "Keyboard shortcuts",
  "desk.login": "Log in",
  "desk.agentId": "Agent id",
  "desk.password": "Password",
  "desk.myState": "My state",
  "desk.at": "at",
  "desk.inState": "In state",
  "desk.talk": "Talk",
  "desk.thisHold": "This hold",
  "desk.holdTotal": "Hold total",
  "desk.wrapEnds": "Wrap-up ends in",
  "desk.ready": "Ready",
  "desk.reason": "Reason",
  "desk.reason.break": "Break",
  "desk.reason.lunch": "Lunch",
  "desk.reason.meeting": "Meeting",
  "desk.reason.training": "Training",
  "desk.reason.admin": "Back-office work",
  "desk.notReady": "Not ready",
  "desk.logout": "Log out",
  "desk.incoming": "Incoming call",
  "desk.answer": "Answer",
  "desk.decline": "Decline",
  "desk.call": "Call",
  "desk.hangup": "Hang up",
  "desk.mute": "Mute",
  "desk.unmute": "Unmute",
  "desk.hold": "Hold",
  "desk.resume": "Resume",
  "desk.verifyPin": "Verify PIN (IVR)",
  "desk.transfer": "Transfer",
  "desk.to": "To",
  "desk.kind.agent": "an agent",
  "desk.kind.queue": "a queue",
  "desk.kind.ivr": "the IVR (I leave the call)",
  "desk.target": "Target",
  "desk.consult": "Consult",
  "desk.consultAgent": "Agent",
  "desk.consultComplete": "Complete transfer",
  "desk.consultCancel": "Cancel consult",
  "desk.conference": "Conference",
  "desk.acw": "After-call work",
  "desk.wrapCode": "Wrap-up code",
  "desk.code.resolved": "Resolved",
  "desk.code.follow_up": "Follow-up needed",
  "desk.code.transferred": "Transferred",
  "desk.code.complaint": "Complaint",
  "desk.code.no_action": "No action",
  "desk.notes": "Notes",
  "desk.wrapDone": "Finish wrap-up",
  "desk.caller": "Caller",
  "desk.activity": "Activity",
  "desk.helpKeys": "Keys",
  "desk.helpAction": "Action",
  "desk.helpTab": "Tab and Shift+Tab reach every control; Enter or Space presses a button.",
  "desk.close": "Close",
  "desk.noLimit": "no limit",
  "desk.sec": "{n} s",
  "desk.holds": "{time} ({n} holds)",
  "desk.hold1": "{time} (1 hold)",
  "desk.wrapInfo": "Wrap-up ends by itself in {n} s and is then recorded as \"no code\".",
  "desk.ringInfo": "{who} - queue {queue}, waited {waited}. Answer within {n} s.",
  "desk.unknownCaller": "unknown caller",
  // ---- agent states and status texts (desk/status.js)
  "state.logged_out": "Logged out",
  "state.not_ready": "Not ready",
  "state.ready": "Ready",
  "state.reserved": "Ringing",
  "state.on_call": "On a call",
  "state.on_hold": "Call on hold",
  "state.after_call_work": "After-call work",
  "call.consulting": "Consulting {who} (caller on hold)",
  "call.ivr": "Caller in the IVR",
  "call.onHold": "On hold",
  "call.talking": "Talking",
  "verified.none": "not checked",
  "verified.yes": "yes",
  "verified.no": "no",
  "verified.line": "Verified: {v}",
  "status.loggingIn": "Logging in...",
  "status.resuming": "Restoring your session...",
  "status.notLoggedIn": "Not logged in.",
  "status.reattaching": "The connection to the site was lost. Re-attaching at a backup site...",
  "status.incoming": "Incoming call from {who}.",
  "status.ready": "Ready: waiting for a call.",
  "status.notReady": "Not ready. Press Ready to take calls.",
  "status.notReadyReason": "Not ready ({reason}). Press Ready to take calls.",
  "status.pinIvr": "The caller is entering their PIN in the IVR. You cannot hear it.",
  "status.consulting": "Consulting {who}; the caller is on hold.",
  "status.onHold": "The caller is on hold.",
  "status.talking": "Talking.",
  "status.talkingVerified": "Talking. Verified: {v}.",
  "status.acw": "After-call work: choose a wrap-up code.",
  "notice.loginFailed": "Log in failed: see the error above.",
  "notice.noCentral": "This desk cannot move to a backup site if its site fails: open it with the link that names central (ask your team leader).",
  "notice.sessionEnded": "Your session ended. Please log in again.",
  "notice.missed": "You missed a call. You are now not ready.",
  "notice.consulted": "{who} is consulting you; the caller is on hold.",
  "notice.pinLocked": "The caller is back. Not verified: the PIN is locked after too many failures; a team leader can unlock it.",
  "notice.loggedOut": "Logged out.",
  // ---- screen pop
  "pop.unknownCaller": "Unknown caller",
  "pop.caller": "Caller",
  "pop.identity": "Identity",
  "pop.identity.unverified": "unverified (caller's own number): check the PIN first",
  "pop.identity.network": "by the caller's number only (network-delivered); the PIN is not checked",
  "pop.identity.verified": "verified",
  "pop.identity.unknown": "not identified",
  "pop.unverified": "unverified",
  "pop.callerNumber": "Caller number",
  "pop.dialled": "Dialled",
  "pop.customerNumber": "Customer number",
  "pop.segment": "Segment",
  "pop.language": "Language",
  "pop.homeBranch": "Home branch",
  "pop.queue": "Queue",
  "pop.waited": "Waited",
  "pop.verified": "Identity verified",
  "pop.failovers": "Failovers",
  "pop.accounts": "Accounts",
  "pop.account": "Account",
  "pop.recent": "Recent contacts",
  "pop.noContacts": "No earlier contacts.",
  "pop.when": "When",
  "pop.agent": "Agent",
  "pop.outcome": "Outcome",
  "pop.site": "Site",
  "pop.collected": "Collected by the IVR",
  "pop.callData": "Call data",
  "pop.doneIvr": "Done in the IVR",
  "pop.doneSoFar": "Done so far",
  // ---- queue statistics panel (desk/queue_stats.js)
  "stats.title": "Queues and my day",
  "stats.queue": "Queue",
  "stats.waiting": "Waiting",
  "stats.longest": "Longest wait",
  "stats.handled": "Handled today",
  "stats.aht": "Average handle time",
  "stats.none": "No queue for your skills.",
  "stats.pending": "Waiting for the site's figures...",
  // ---- durations
  "dur.unknown": "unknown",
  // ---- customer page
  "cust.title": "Call the bank",
  "cust.yourCall": "Your call",
  "cust.yourNumber": "Your phone number",
  "cust.numberToCall": "Number to call",
  "cust.call": "Call",
  "cust.hangup": "Hang up",
  "cust.serviceSays": "The service says:",
  "cust.waitingTitle": "Waiting for an agent",
  "cust.callback": "Call me back instead",
  "cust.keypad": "Keypad",
  "cust.padHelp": "Press the keys or type 0-9, * and # while the keypad has focus.",
  "cust.star": "star",
  "cust.hash": "hash",
  "cust.readyToCall": "Ready to call.",
  "cust.calling": "Calling {number}...",
  "cust.failed": "The call could not be made.",
  "cust.inIvrMenu": "Connected to the bank. Listen to the menu and use the keypad.",
  "cust.reconnecting": "Reconnecting your call...",
  "cust.interrupted": "The connection was interrupted. Reconnecting your call...",
  "cust.connectedAgain": "Connected to the bank again.",
  "cust.reconnected": "Reconnected ({site}).",
  "cust.notReconnected": "Your call could not be reconnected.",
  "cust.unreachable": "The bank cannot be reached right now. Please call again later.",
  "cust.queued": "Waiting for an agent.",
  "cust.position": "You are number {position} in the queue. Expected wait: {wait}.",
  "cust.ringing": "An agent's phone is ringing for you...",
  "cust.transferredTo": "Transferred: connected to {agent}.",
  "cust.connectedTo": "Connected to {agent}.",
  "cust.yourAgent": "your agent",
  "cust.inIvr": "In the automated service; you will return to {who}.",
  "cust.onHold": "You are on hold. Please wait.",
  "cust.conference": "You are in a conference call.",
  "cust.callbackDone": "We will call you back. You can close this page.",
  "cust.ended": "The call has ended ({reason}).",
  "cust.hungUp": "You hung up.",
  "cust.keysSent": "Keys sent: {dots}",
  "cust.unconfigured": "Calls cannot be made from this page yet.",
  "cust.noCentral": "this link is missing the bank's address. Please open the calling page from the bank's website or app.",
  "cust.startFirst": "start a call before using the keypad",
  // ---- wallboard (central)
  "wb.title": "Contact center wallboard",
  "wb.connecting": "Connecting…",
  "wb.live": "Live",
  "wb.lost": "Connection lost, reconnecting…",
  "wb.total": "Cluster total",
  "wb.sites": "Sites",
  "wb.empty": "No site is connected.",
  "wb.waiting": "Calls waiting",
  "wb.longest": "Longest wait",
  "wb.sl": "Service level today",
  "wb.ready": "Agents ready",
  "wb.onCall": "Agents on calls",
  "wb.liveCalls": "Live calls",
  "wb.sitesLive": "Sites live",
  "wb.sitesLeft": "Sites left",
  "wb.queue": "Queue",
  "wb.qWaiting": "Waiting",
  "wb.staffed": "Staffed",
  "wb.qReady": "Ready",
  "wb.answered": "Answered",
  "wb.queuesOf": "Queues of {site}",
  "wb.left": "left the cluster",
  "wb.siteLive": "live",
  "wb.leftText": "This site is no longer connected; its calls are re-routed.",
  "wb.agents": "Agents: {list}",
  "wb.none": "none",
  "wb.st.ready": "Ready",
  "wb.st.reserved": "Ringing",
  "wb.st.on_call": "On call",
  "wb.st.on_hold": "On hold",
  "wb.st.after_call_work": "Wrap-up",
  "wb.st.not_ready": "Not ready",
  "wb.st.logged_out": "Logged out",
};

const ZH = {
  "lang.label": "语言",
  "desk.title": "坐席工作台",
  "desk.help": "键盘快捷键",
  "desk.login": "登录",
  "desk.agentId": "坐席工号",
  "desk.password": "密码",
  "desk.myState": "我的状态",
  "desk.at": "位于",
  "desk.inState": "当前状态时长",
  "desk.talk": "通话",
  "desk.thisHold": "本次保持",
  "desk.holdTotal": "保持合计",
  "desk.wrapEnds": "话后处理剩余",
  "desk.ready": "就绪",
  "desk.reason": "原因",
  "desk.reason.break": "休息",
  "desk.reason.lunch": "午餐",
  "desk.reason.meeting": "会议",
  "desk.reason.training": "培训",
  "desk.reason.admin": "后台工作",
  "desk.notReady": "未就绪",
  "desk.logout": "退出登录",
  "desk.incoming": "来电",
  "desk.answer": "接听",
  "desk.decline": "拒接",
  "desk.call": "通话",
  "desk.hangup": "挂断",
  "desk.mute": "静音",
  "desk.unmute": "取消静音",
  "desk.hold": "保持",
  "desk.resume": "恢复",
  "desk.verifyPin": "验证密码（IVR）",
  "desk.transfer": "转接",
  "desk.to": "转至",
  "desk.kind.agent": "坐席",
  "desk.kind.queue": "队列",
  "desk.kind.ivr": "IVR（我离开通话）",
  "desk.target": "目标",
  "desk.consult": "咨询",
  "desk.consultAgent": "坐席",
  "desk.consultComplete": "完成转接",
  "desk.consultCancel": "取消咨询",
  "desk.conference": "三方通话",
  "desk.acw": "话后处理",
  "desk.wrapCode": "小结代码",
  "desk.code.resolved": "已解决",
  "desk.code.follow_up": "需跟进",
  "desk.code.transferred": "已转接",
  "desk.code.complaint": "投诉",
  "desk.code.no_action": "无需处理",
  "desk.notes": "备注",
  "desk.wrapDone": "完成话后处理",
  "desk.caller": "来电客户",
  "desk.activity": "操作记录",
  "desk.helpKeys": "按键",
  "desk.helpAction": "操作",
  "desk.helpTab": "Tab 和 Shift+Tab 可到达每个控件；Enter 或空格键按下按钮。",
  "desk.close": "关闭",
  "desk.noLimit": "不限时",
  "desk.sec": "{n} 秒",
  "desk.holds": "{time}（{n} 次保持）",
  "desk.hold1": "{time}（1 次保持）",
  "desk.wrapInfo": "话后处理将在 {n} 秒后自动结束，并记录为“无代码”。",
  "desk.ringInfo": "{who} - 队列 {queue}，已等待 {waited}。请在 {n} 秒内接听。",
  "desk.unknownCaller": "未知来电",
  "state.logged_out": "已退出",
  "state.not_ready": "未就绪",
  "state.ready": "就绪",
  "state.reserved": "振铃中",
  "state.on_call": "通话中",
  "state.on_hold": "通话保持中",
  "state.after_call_work": "话后处理",
  "call.consulting": "正在咨询 {who}（客户保持中）",
  "call.ivr": "客户在 IVR 中",
  "call.onHold": "保持中",
  "call.talking": "通话中",
  "verified.none": "未验证",
  "verified.yes": "是",
  "verified.no": "否",
  "verified.line": "已验证：{v}",
  "status.loggingIn": "正在登录…",
  "status.resuming": "正在恢复会话…",
  "status.notLoggedIn": "未登录。",
  "status.reattaching": "与站点的连接已断开，正在连接备用站点…",
  "status.incoming": "{who} 来电。",
  "status.ready": "就绪：等待来电。",
  "status.notReady": "未就绪。按“就绪”开始接听来电。",
  "status.notReadyReason": "未就绪（{reason}）。按“就绪”开始接听来电。",
  "status.pinIvr": "客户正在 IVR 中输入密码，您听不到。",
  "status.consulting": "正在咨询 {who}；客户保持中。",
  "status.onHold": "客户保持中。",
  "status.talking": "通话中。",
  "status.talkingVerified": "通话中。已验证：{v}。",
  "status.acw": "话后处理：请选择小结代码。",
  "notice.loginFailed": "登录失败：请查看上方的错误。",
  "notice.noCentral": "站点故障时此工作台无法切换到备用站点：请使用包含中心地址的链接打开（请询问组长）。",
  "notice.sessionEnded": "会话已结束，请重新登录。",
  "notice.missed": "您错过了一个来电，现在为未就绪。",
  "notice.consulted": "{who} 正在咨询您；客户保持中。",
  "notice.pinLocked": "客户已返回。未验证：密码错误次数过多已被锁定，组长可以解锁。",
  "notice.loggedOut": "已退出。",
  "pop.unknownCaller": "未知来电",
  "pop.caller": "来电客户",
  "pop.identity": "身份",
  "pop.identity.unverified": "未验证（客户自报号码）：请先验证密码",
  "pop.identity.network": "仅按来电号码识别（网络传送）；未验证密码",
  "pop.identity.verified": "已验证",
  "pop.identity.unknown": "未识别",
  "pop.unverified": "未验证",
  "pop.callerNumber": "来电号码",
  "pop.dialled": "拨打号码",
  "pop.customerNumber": "客户编号",
  "pop.segment": "客户等级",
  "pop.language": "语言",
  "pop.homeBranch": "所属网点",
  "pop.queue": "队列",
  "pop.waited": "等待时长",
  "pop.verified": "身份已验证",
  "pop.failovers": "故障切换次数",
  "pop.accounts": "账户",
  "pop.account": "账户",
  "pop.recent": "近期联络",
  "pop.noContacts": "没有更早的联络。",
  "pop.when": "时间",
  "pop.agent": "坐席",
  "pop.outcome": "结果",
  "pop.site": "站点",
  "pop.collected": "IVR 收集的信息",
  "pop.callData": "通话数据",
  "pop.doneIvr": "IVR 中已完成",
  "pop.doneSoFar": "目前已完成",
  "stats.title": "队列与今日业绩",
  "stats.queue": "队列",
  "stats.waiting": "排队数",
  "stats.longest": "最长等待",
  "stats.handled": "今日处理",
  "stats.aht": "平均处理时长",
  "stats.none": "没有与您技能对应的队列。",
  "stats.pending": "正在等待站点的数据…",
  "dur.unknown": "未知",
  "cust.title": "致电银行",
  "cust.yourCall": "您的通话",
  "cust.yourNumber": "您的电话号码",
  "cust.numberToCall": "拨打号码",
  "cust.call": "拨打",
  "cust.hangup": "挂断",
  "cust.serviceSays": "语音提示：",
  "cust.waitingTitle": "正在等待坐席",
  "cust.callback": "改为回电给我",
  "cust.keypad": "拨号键盘",
  "cust.padHelp": "点击按键，或在键盘获得焦点时输入 0-9、* 和 #。",
  "cust.star": "星号",
  "cust.hash": "井号",
  "cust.readyToCall": "可以拨打。",
  "cust.calling": "正在拨打 {number}…",
  "cust.failed": "无法拨通。",
  "cust.inIvrMenu": "已接通银行。请收听菜单并使用拨号键盘。",
  "cust.reconnecting": "正在重新连接您的通话…",
  "cust.interrupted": "连接中断，正在重新连接您的通话…",
  "cust.connectedAgain": "已重新接通银行。",
  "cust.reconnected": "已重新连接（{site}）。",
  "cust.notReconnected": "无法重新连接您的通话。",
  "cust.unreachable": "目前无法联系银行，请稍后再拨。",
  "cust.queued": "正在等待坐席。",
  "cust.position": "您在队列中排第 {position} 位。预计等待：{wait}。",
  "cust.ringing": "正在为您呼叫坐席…",
  "cust.transferredTo": "已转接：正在与 {agent} 通话。",
  "cust.connectedTo": "正在与 {agent} 通话。",
  "cust.yourAgent": "您的坐席",
  "cust.inIvr": "正在自助语音服务中；之后将返回 {who}。",
  "cust.onHold": "通话保持中，请稍候。",
  "cust.conference": "您正在三方通话中。",
  "cust.callbackDone": "我们会给您回电，您可以关闭此页面。",
  "cust.ended": "通话已结束（{reason}）。",
  "cust.hungUp": "您已挂断。",
  "cust.keysSent": "已发送按键：{dots}",
  "cust.unconfigured": "暂时无法从此页面拨打电话。",
  "cust.noCentral": "此链接缺少银行的地址。请从银行的网站或应用打开拨号页面。",
  "cust.startFirst": "请先拨打电话再使用键盘",
  "wb.title": "联络中心大屏",
  "wb.connecting": "正在连接…",
  "wb.live": "实时",
  "wb.lost": "连接已断开，正在重新连接…",
  "wb.total": "集群合计",
  "wb.sites": "站点",
  "wb.empty": "没有已连接的站点。",
  "wb.waiting": "排队来电",
  "wb.longest": "最长等待",
  "wb.sl": "今日服务水平",
  "wb.ready": "就绪坐席",
  "wb.onCall": "通话中坐席",
  "wb.liveCalls": "进行中的通话",
  "wb.sitesLive": "在线站点",
  "wb.sitesLeft": "已离开站点",
  "wb.queue": "队列",
  "wb.qWaiting": "排队数",
  "wb.staffed": "在岗",
  "wb.qReady": "就绪",
  "wb.answered": "已接听",
  "wb.queuesOf": "{site} 的队列",
  "wb.left": "已离开集群",
  "wb.siteLive": "在线",
  "wb.leftText": "此站点已断开；其来电已重新路由。",
  "wb.agents": "坐席：{list}",
  "wb.none": "无",
  "wb.st.ready": "就绪",
  "wb.st.reserved": "振铃",
  "wb.st.on_call": "通话",
  "wb.st.on_hold": "保持",
  "wb.st.after_call_work": "话后处理",
  "wb.st.not_ready": "未就绪",
  "wb.st.logged_out": "已退出",
};

export const CATALOGUE = { en: EN, zh: ZH };
const LOCALES = { en: "en-GB", zh: "zh-CN" };
const NAMES = { en: "English", zh: "中文" };
const STORE = "cc.lang";
const listeners = [];

function stored() {
  try {
    return window.localStorage.getItem(STORE);
  } catch {
    return null;
  }
}

function fromBrowser() {
  for (const tag of navigator.languages || [navigator.language || "en"]) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (CATALOGUE[base]) return base;
  }
  return "en";
}

let current = CATALOGUE[stored()] ? stored() : fromBrowser();

export function language() {
  return current;
}

export function locale() {
  return LOCALES[current];
}

// t("status.incoming", {who: "Greta"}): the text in the chosen language (English if missing).
export function t(key, params = {}) {
  const text = CATALOGUE[current][key] ?? EN[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}

// A duration in seconds, per locale ("1 min, 5 sec" / "1分钟5秒"); "unknown" for none.
export function duration(value) {
  if (value === null || value === undefined || Number.isNaN(Number(value))) return t("dur.unknown");
  const s = Math.max(0, Math.round(Number(value)));
  const parts = s < 60 ? { seconds: s } : { minutes: Math.floor(s / 60), seconds: s % 60 };
  if (typeof Intl.DurationFormat === "function") return new Intl.DurationFormat(locale(), { style: "short" }).format(parts);
  const unit = (n, u) => new Intl.NumberFormat(locale(), { style: "unit", unit: u, unitDisplay: "short" }).format(n);
  return s < 60 ? unit(s, "second") : `${unit(parts.minutes, "minute")} ${unit(parts.seconds, "second")}`;
}

export function dateTime(epochS) {
  return new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeStyle: "short" }).format(new Date(epochS * 1000));
}

export function amount(value, currency) {
  const options = currency ? { style: "currency", currency } : { maximumFractionDigits: 2 };
  return new Intl.NumberFormat(locale(), options).format(Number(value));
}

export function number(value) {
  return new Intl.NumberFormat(locale()).format(Number(value));
}

// Apply the catalogue to the static texts under root (data-i18n* attributes).
export function translate(root = document) {
  document.documentElement.lang = current === "zh" ? "zh-Hans" : "en";
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const [attr, target] of [["i18nPlaceholder", "placeholder"], ["i18nLabel", "aria-label"], ["i18nTitle", "title"]]) {
    const selector = `[data-${attr.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}]`;
    for (const node of root.querySelectorAll(selector)) node.setAttribute(target, t(node.dataset[attr]));
  }
}

export function setLanguage(lang) {
  if (!CATALOGUE[lang]) return;
  current = lang;
  try {
    window.localStorage.setItem(STORE, lang);
  } catch {
    // a browser without storage keeps the choice for this page only
  }
  translate();
  for (const fn of listeners) fn(lang);
}

// Called after every switch of language (pages re-render their dynamic texts).
export function onLanguage(fn) {
  listeners.push(fn);
}

// The visible switch: <label>Language</label><select id="lang-switch"> in the given container.
export function mountLanguageSwitch(container) {
  const label = document.createElement("label");
  label.htmlFor = "lang-switch";
  label.dataset.i18n = "lang.label";
  const select = document.createElement("select");
  select.id = "lang-switch";
  for (const [code, name] of Object.entries(NAMES)) {
    const option = document.createElement("option");
    option.value = code;
    option.lang = code === "zh" ? "zh-Hans" : "en";
    option.textContent = name;
    select.append(option);
  }
  select.value = current;
  select.addEventListener("change", () => setLanguage(select.value));
  container.append(label, " ", select);
  translate();
}
