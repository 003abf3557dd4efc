// users.ts — a tenant's users: list and create (SSO users appear at their first sign-in).
import { api, listAll } from "../api";
import { t } from "../i18n";
import type { Ctx } from "../main";
import { errorBox, field, fmtTime, h, section, table } from "../ui";
import { needTenant } from "./need";

interface User {
  id: string;
  name: string;
  email: string;
  disabled: boolean;
  created_at: string;
}

export async function usersPage(ctx: Ctx, main: HTMLElement): Promise<void> {
  const tenant = needTenant(ctx, main, t("users.title"));
  if (!tenant) return;
  const items = await listAll<User>(`/admin/v1/tenants/${tenant}/users`);
  const name = h("input", { type: "text", name: "name", required: true }) as HTMLInputElement;
  const email = h("input", { type: "email", name: "email", required: true }) as HTMLInputElement;
  const status = h("div", { "aria-live": "polite" });
  const form = h(
    "form",
    {
      class: "inline",
      onsubmit: async (e: Event) => {
        e.preventDefault();
        try {
          await api("POST", `/admin/v1/tenants/${tenant}/users`, { name: name.value, email: email.value });
          window.dispatchEvent(new HashChangeEvent("hashchange"));
        } catch (err) {
          status.replaceChildren(errorBox(err));
        }
      },
    },
    field(t("users.name"), name),
    field(t("users.email"), email),
    h("button", { type: "submit" }, t("users.create")),
  );
  main.append(
    h("h1", {}, t("users.title")),
    section(t("users.new"), form, status),
    table(
      t("users.title"),
      [t("col.name"), t("col.email"), t("col.disabled"), t("col.id"), t("col.created")],
      items.map((u) => [u.name, u.email, u.disabled ? t("yes") : t("no"), h("code", {}, u.id), fmtTime(u.created_at)]),
      "users",
    ),
  );
}
