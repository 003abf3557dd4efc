// gov_common.ts — what the governance pages share: the page's reload after a change, a button that
// asks before it acts, and the status area errors land in (said in words by ui.ts's errorBox).
import { errorBox, h } from "../ui";

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
          status.replaceChildren(errorBox(err));
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
