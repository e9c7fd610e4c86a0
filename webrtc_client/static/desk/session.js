// The desk's session across a reload or a crashed tab: the token and the masked screen pop,
// kept in sessionStorage (this tab only, gone when it closes; never localStorage). The site
// never sends sensitive values (PIN, full account numbers), so none are stored here either.

const KEY = "cc.agent.session";

export function saveSession(values) {
  const current = loadSession() || {};
  sessionStorage.setItem(KEY, JSON.stringify({ ...current, ...values }));
}

export function loadSession() {
  try {
    const raw = sessionStorage.getItem(KEY);
    return raw ? JSON.parse(raw) : null;
  } catch (_) {
    return null;
  }
}

export function clearSession() {
  sessionStorage.removeItem(KEY);
}
