// ui.ts — a few DOM helpers. Text always goes in as text nodes (never innerHTML), so no value from
// the API can become markup.
import { ApiError } from "./api";
import { t } from "./i18n";
import { tg, type GovKey } from "./i18n_gov";

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | boolean | number | EventListener | undefined | null>;

export function h(tag: string, attrs: Attrs = {}, ...children: (Child | Child[])[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

export function table(caption: string, cols: string[], rows: Child[][], testid?: string): HTMLElement {
  if (!rows.length) return h("p", { class: "muted" }, caption + ": " + t("none"));
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { "data-testid": testid },
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c))))),
    ),
  );
}

export function field(label: string, input: HTMLElement): HTMLElement {
  const id = input.id || "f-" + Math.random().toString(36).slice(2, 9);
  input.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, label), input);
}

const knownErrors = new Set([
  "forbidden", "tenant_suspended", "not_found", "already_exists", "invalid_argument", "unknown_field",
  "invalid_json", "conflict", "mfa_required", "guardrail_refused", "unauthenticated",
]);

/** An error as readable words (a 403 as "not permitted", in the page's language), the API's code and
 * message kept below as the detail; role="alert", so a screen reader says it at once. */
export function errorBox(e: unknown, lead?: string): HTMLElement {
  const box = h("div", { class: "error", role: "alert", "data-testid": "api-error" });
  if (e instanceof ApiError) {
    box.setAttribute("data-code", e.code);
    const key = ("err." + (knownErrors.has(e.code) ? e.code : "other")) as GovKey;
    box.append(
      h("p", {}, lead ?? tg(key)),
      h("p", { class: "muted" }, tg("err.detail", { code: e.code, status: e.status, msg: e.message })),
    );
  } else {
    box.append(h("p", {}, t("error", { msg: e instanceof Error ? e.message : String(e) })));
  }
  return box;
}

/** An inline form. submit runs on its button or Enter, after the browser's own field checks; what
 * it throws is said in status (errorBox), or handed to onError where the form words it itself. */
export function inlineForm(
  status: HTMLElement,
  submit: () => Promise<void>,
  children: Child[],
  opts: { testid?: string; onError?: (err: unknown) => void } = {},
): HTMLElement {
  const failed = opts.onError ?? ((err: unknown) => status.replaceChildren(errorBox(err)));
  return h(
    "form",
    {
      class: "inline",
      "data-testid": opts.testid,
      onsubmit: async (e: Event) => {
        e.preventDefault();
        try {
          await submit();
        } catch (err) {
          failed(err);
        }
      },
    },
    ...children,
  );
}

export function section(title: string, ...children: Child[]): HTMLElement {
  return h("section", { class: "card" }, h("h2", {}, title), ...children);
}

/** The current JST month as YYYY-MM (billing months are JST months). */
export function jstMonth(d = new Date()): string {
  const j = new Date(d.getTime() + 9 * 3600 * 1000);
  return j.toISOString().slice(0, 7);
}

/** A yen amount given as a decimal string ("12.345600") → integer micro-yen, without a double. */
export function microyen(s: string | null | undefined): bigint {
  if (!s) return 0n;
  const neg = s.startsWith("-");
  const [w, f = ""] = (neg ? s.slice(1) : s).split(".");
  const v = BigInt(w || "0") * 1000000n + BigInt((f + "000000").slice(0, 6));
  return neg ? -v : v;
}

/** Integer micro-yen → "1,234.567890" (exact). */
export function yenText(m: bigint): string {
  const neg = m < 0n;
  const a = neg ? -m : m;
  const w = (a / 1000000n).toLocaleString("en-US");
  const f = (a % 1000000n).toString().padStart(6, "0");
  return (neg ? "-" : "") + w + "." + f;
}

export function fmtTime(s: string | null | undefined): string {
  if (!s) return "";
  const d = new Date(s);
  return d.toLocaleString(document.documentElement.lang === "en" ? "en-GB" : "ja-JP", {
    timeZone: "Asia/Tokyo",
    hour12: false,
  });
}
