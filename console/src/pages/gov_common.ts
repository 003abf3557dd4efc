// gov_common.ts — what the governance pages share: an API error said in words (a 403 as "not
// permitted", in Japanese by default, with the API's code and message kept as the detail), the
// page's reload after a change, and a button that asks before it acts.
import { ApiError } from "../api";
import { tg, type GovKey } from "../i18n_gov";
import { h } from "../ui";

const known = new Set([
  "forbidden", "tenant_suspended", "not_found", "already_exists", "invalid_argument", "unknown_field",
  "invalid_json", "conflict", "mfa_required", "guardrail_refused", "unauthenticated",
]);

/** The error as one readable line (role="alert", so a screen reader says it at once). */
export function apiErrorBox(e: unknown, lead?: string): HTMLElement {
  const box = h("div", { class: "error", role: "alert", "data-testid": "api-error" });
  if (e instanceof ApiError) {
    box.setAttribute("data-code", e.code);
    const key = ("err." + (known.has(e.code) ? e.code : "other")) as GovKey;
    box.append(
      h("p", {}, lead ?? tg(key)),
      h("p", { class: "muted" }, tg("err.detail", { code: e.code, status: e.status, msg: e.message })),
    );
  } else {
    box.append(h("p", {}, tg("err.other") + ": " + (e instanceof Error ? e.message : String(e))));
  }
  return box;
}

/** Renders the current page again (the router listens to hashchange). */
export function reload(): void {
  window.dispatchEvent(new HashChangeEvent("hashchange"));
}

/** A button that asks (confirm) and then runs act; a failure goes to status. */
export function actButton(
  label: string,
  aria: string,
  question: string,
  status: HTMLElement,
  act: () => Promise<unknown>,
  danger = true,
): HTMLElement {
  return h(
    "button",
    {
      type: "button",
      class: danger ? "danger" : undefined,
      "aria-label": aria,
      onclick: async () => {
        if (!confirm(question)) return;
        try {
          await act();
          reload();
        } catch (err) {
          status.replaceChildren(apiErrorBox(err));
          status.focus();
        }
      },
    },
    label,
  );
}

/** The status area under a form: errors land here, announced. */
export function statusArea(): HTMLElement {
  return h("div", { "aria-live": "polite", tabindex: "-1", "data-testid": "status" });
}
