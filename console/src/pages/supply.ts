// supply.ts — procurement cases under the IT procurement agreement (docs/supply.md): the tenant's
// cases with a form to open one, and the reviewers' queue (cases submitted or under review, across
// tenants: GET /admin/v1/supply-cases, supply.review at platform scope; it is left out for whoever
// may not read it). One case opens at #/supply?case=ID (supply_case.ts).
import { ApiError, api, listAll } from "../api";
import { t } from "../i18n";
import type { Ctx } from "../main";
import { field, fmtTime, h, inlineForm, section, table } from "../ui";
import { caseDetail, stateText, type Case } from "./supply_case";

function caseLink(c: Case): HTMLElement {
  return h("a", { href: "#/supply?case=" + c.id }, c.title);
}

function createForm(tenant: string): HTMLElement {
  const title = h("input", { type: "text", name: "title", required: true, autocomplete: "off" }) as HTMLInputElement;
  const agency = h("input", { type: "text", name: "agency", required: true, autocomplete: "off" }) as HTMLInputElement;
  const status = h("div", { "aria-live": "polite" });
  const form = inlineForm(
    status,
    async () => {
      const c = await api<Case>("POST", `/admin/v1/tenants/${tenant}/supply-cases`, {
        title: title.value.trim(),
        agency: agency.value.trim(),
      });
      location.hash = "#/supply?case=" + c.id;
    },
    [
      field(t("supply.case.title"), title),
      field(t("supply.case.agency"), agency),
      h("button", { type: "submit" }, t("supply.create")),
    ],
  );
  return section(t("supply.new"), form, status);
}

/** The reviewers' queue, or null when the caller may not read every tenant's cases. */
async function queue(): Promise<HTMLElement | null> {
  try {
    const [sub, rev] = await Promise.all([
      listAll<Case>("/admin/v1/supply-cases?state=submitted"),
      listAll<Case>("/admin/v1/supply-cases?state=under_review"),
    ]);
    const rows = [...sub, ...rev].map((c) => [caseLink(c), c.agency, stateText(c.state), h("code", {}, c.tenant), fmtTime(c.updated_at)]);
    return section(
      t("supply.queue"),
      table(t("supply.queue"), [t("col.title"), t("supply.case.agency"), t("col.state"), t("tenant"), t("col.modified")], rows, "supply-queue"),
    );
  } catch (e) {
    if (e instanceof ApiError && (e.status === 403 || e.status === 404)) return null;
    throw e;
  }
}

export async function supplyPage(ctx: Ctx, main: HTMLElement): Promise<void> {
  const id = new URLSearchParams(location.hash.split("?")[1] ?? "").get("case");
  if (id) return caseDetail(ctx, main, id);
  main.append(h("h1", {}, t("supply.title")));
  if (ctx.tenant) {
    const cases = await listAll<Case>(`/admin/v1/tenants/${ctx.tenant}/supply-cases`);
    main.append(
      section(
        t("supply.cases"),
        table(
          t("supply.cases"),
          [t("col.title"), t("supply.case.agency"), t("col.state"), t("col.modified")],
          cases.map((c) => [caseLink(c), c.agency, stateText(c.state), fmtTime(c.updated_at)]),
          "supply",
        ),
      ),
      createForm(ctx.tenant),
    );
  }
  const q = await queue();
  if (q) main.append(q);
  else if (!ctx.tenant) main.append(h("p", { class: "muted" }, t("tenant.choose")));
}
