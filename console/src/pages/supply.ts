// supply.ts — the tenant's procurement cases under the IT procurement agreement (docs/supply.md).
import { listAll } from "../api";
import { t } from "../i18n";
import type { Ctx } from "../main";
import { fmtTime, h, table } from "../ui";
import { needTenant } from "./need";

interface Case {
  id: string;
  title: string;
  agency: string;
  state: string;
  updated_at: string;
}

export async function supplyPage(ctx: Ctx, main: HTMLElement): Promise<void> {
  const tenant = needTenant(ctx, main, t("supply.title"));
  if (!tenant) return;
  const cases = await listAll<Case>(`/admin/v1/tenants/${tenant}/supply-cases`);
  main.append(
    h("h1", {}, t("supply.title")),
    table(
      t("supply.title"),
      [t("col.title"), t("col.state"), t("col.id"), t("col.created")],
      cases.map((c) => [c.title, c.state, h("code", {}, c.id), fmtTime(c.updated_at)]),
      "supply",
    ),
  );
}
