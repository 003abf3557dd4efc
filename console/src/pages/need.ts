// need.ts — pages that list a tenant's resources need one: an operator picks it in the header.
import { t } from "../i18n";
import type { Ctx } from "../main";
import { h } from "../ui";

export function needTenant(ctx: Ctx, main: HTMLElement, title: string): string | null {
  if (ctx.tenant) return ctx.tenant;
  main.append(h("h1", {}, title), h("p", { class: "muted" }, t("tenant.choose")));
  return null;
}
