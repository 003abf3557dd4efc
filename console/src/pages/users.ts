// users.ts — a tenant's users: list and create (SSO users appear at their first sign-in). With the
// header's picker on "platform" (an operator), the platform's own users (operators) instead.
import { api, listAll } from "../api";
import { t } from "../i18n";
import type { Ctx } from "../main";
import { field, fmtTime, h, inlineForm, section, table } from "../ui";
import { reload } from "./gov_common";
import { tg } from "../i18n_gov";
import { isPlatformView } from "./bindings";
import { needTenant } from "./need";

interface User {
  id: string;
  name: string;
  email: string;
  disabled: boolean;
  created_at: string;
}

export async function usersPage(ctx: Ctx, main: HTMLElement): Promise<void> {
  const platform = isPlatformView(ctx);
  const tenant = platform ? null : needTenant(ctx, main, t("users.title"));
  if (!platform && !tenant) return;
  const base = tenant ? `/admin/v1/tenants/${tenant}/users` : "/admin/v1/platform/users";
  const title = tenant ? t("users.title") : tg("users.platformTitle");
  const items = await listAll<User>(base);
  const name = h("input", { type: "text", name: "name", required: true }) as HTMLInputElement;
  const email = h("input", { type: "email", name: "email", required: true }) as HTMLInputElement;
  const status = h("div", { "aria-live": "polite" });
  const form = inlineForm(
    status,
    async () => {
      await api("POST", base, { name: name.value, email: email.value });
      reload();
    },
    [
      field(t("users.name"), name),
      field(t("users.email"), email),
      h("button", { type: "submit" }, t("users.create")),
    ],
  );
  main.append(
    h("h1", {}, title),
    section(t("users.new"), form, status),
    table(
      title,
      [t("col.name"), t("col.email"), t("col.disabled"), t("col.id"), t("col.created")],
      items.map((u) => [u.name, u.email, u.disabled ? t("yes") : t("no"), h("code", {}, u.id), fmtTime(u.created_at)]),
      "users",
    ),
  );
}
