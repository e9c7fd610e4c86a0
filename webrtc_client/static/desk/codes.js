// The not-ready and wrap-up codes an administrator set (GET /v1/codes at the site; issue 19).
// A code the page already names keeps its label; a new one is shown as its words. When the
// site cannot be asked, the page's own lists stay.

export async function loadCodes(base) {
  try {
    const response = await fetch(`${base}/v1/codes`);
    if (!response.ok) return false;
    const { codes } = await response.json();
    fill("not-ready-reason", codes.not_ready);
    fill("wrap-code", codes.wrap_up);
    return true;
  } catch {
    return false;
  }
}

function fill(id, codes) {
  const select = document.getElementById(id);
  if (!select || !Array.isArray(codes) || codes.length === 0) return;
  const labels = new Map([...select.options].map((o) => [o.value, o]));
  select.replaceChildren(
    ...codes.map((code) => {
      const option = document.createElement("option");
      option.value = code;
      const known = labels.get(code);
      option.textContent = known ? known.textContent : code.replace(/[_-]+/g, " ");
      if (known && known.dataset.i18n) option.dataset.i18n = known.dataset.i18n; // follows the language
      return option;
    }),
  );
}
