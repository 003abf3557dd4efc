// gov_common.ts — what the governance pages share: the page's reload after a change, a button that
// asks before it acts, the status area errors land in (said in words by ui.ts's errorBox), and the
// picker of the project a page is about.
import { listAll } from "../api";
import { tg } from "../i18n_gov";
import { errorBox, field, h } from "../ui";

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

/** A page about one of the tenant's projects: the one the URL names (#/page?project=), else the
 * first, and its picker (a choice shows the page for that project). null when the tenant has no
 * project: the page then says so. */
export async function projectPicker(
  main: HTMLElement,
  tenant: string,
  page: string,
  label: string,
): Promise<{ project: { id: string; name: string }; picker: HTMLElement } | null> {
  const projects = await listAll<{ id: string; name: string }>(`/admin/v1/tenants/${tenant}/projects`);
  if (!projects.length) {
    main.append(h("p", { class: "muted" }, tg("aipol.noProjects")));
    return null;
  }
  return projectChoice(projects, page, label);
}

/** Of projects (one at least), the one the URL names (#/page?project=), else the first, and a
 * picker whose choice shows the page for another. */
export function projectChoice(
  projects: { id: string; name: string }[],
  page: string,
  label: string,
): { project: { id: string; name: string }; picker: HTMLElement } {
  const wanted = new URLSearchParams(location.hash.split("?")[1] ?? "").get("project");
  const project = projects.find((p) => p.id === wanted) ?? projects[0];
  const pick = h("select", {
    onchange: (e: Event) => { location.hash = `#/${page}?project=` + (e.target as HTMLSelectElement).value; },
  }, projects.map((p) => h("option", { value: p.id, selected: p.id === project.id }, p.name)));
  return { project, picker: field(label, pick) };
}
