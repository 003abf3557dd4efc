// ssomap.ts — SSO group → role mappings of a tenant: an IdP group of an issuer grants a role at the
// tenant or one of its projects at each sign-in. List, add, remove (removing one deletes the
// bindings it made at once). The same no-escalation rule as role bindings. With the header's picker
// on "platform" (an operator): the mappings to platform-scope roles.
import { api, listAll } from "../api";
import { tg } from "../i18n_gov";
import type { Ctx } from "../main";
import { field, fmtTime, h, inlineForm, section, table } from "../ui";
import { isPlatformView, loadNames, platformNames, roleScopePickers, scopeText, type Names } from "./bindings";
import { actButton, reload, statusArea } from "./gov_common";
import { needTenant } from "./need";

interface Mapping {
  id: string;
  issuer: string;
  group: string;
  role: string;
  scope: string;
  tenant: string | null;
  created_at: string;
}

function addForm(n: Names, issuers: string[]): HTMLElement {
  const issuer = h(
    "input",
    { type: "text", name: "issuer", required: true, list: "sso-issuers", value: issuers[0] ?? "" },
  ) as HTMLInputElement;
  const known = h("datalist", { id: "sso-issuers" }, issuers.map((i) => h("option", { value: i })));
  const group = h("input", { type: "text", name: "group", required: true, maxlength: 200 }) as HTMLInputElement;
  const { role, scope } = roleScopePickers(n);
  const status = statusArea();
  const form = inlineForm(
    status,
    async () => {
      await api("POST", "/admin/v1/sso/group-roles", {
        issuer: issuer.value, group: group.value, role: role.value, scope: scope.value,
      });
      reload();
    },
    [
      field(tg("sso.issuer"), issuer),
      known,
      field(tg("sso.group"), group),
      field(tg("bindings.role"), role),
      field(tg("bindings.scope"), scope),
      h("button", { type: "submit" }, tg("sso.add")),
    ],
  );
  return section(tg("sso.new"), form, status);
}

export async function ssomapPage(ctx: Ctx, main: HTMLElement): Promise<void> {
  const platform = isPlatformView(ctx);
  const tenant = platform ? null : needTenant(ctx, main, tg("sso.title"));
  if (!platform && !tenant) return;
  const [n, all, providers] = await Promise.all([
    tenant ? loadNames(tenant) : platformNames(ctx.session),
    listAll<Mapping>("/admin/v1/sso/group-roles"),
    api<{ items: { name: string }[] }>("GET", "/auth/providers"),
  ]);
  const items = all.filter((m) => (tenant ? m.tenant === tenant : m.scope === "platform"));
  const status = statusArea();
  main.append(
    h("h1", {}, tenant ? tg("sso.title") : tg("sso.platformTitle")),
    h("p", { class: "muted" }, tg("sso.lead")),
    addForm(n, providers.items.map((p) => p.name)),
    status,
    table(
      tg("sso.title"),
      [tg("col.issuer"), tg("col.group"), tg("col.role"), tg("col.scope"), tg("col.created"), tg("col.actions")],
      items.map((m) => [
        m.issuer,
        m.group,
        m.role,
        scopeText(n, m.scope),
        fmtTime(m.created_at),
        actButton(tg("sso.remove"), tg("sso.remove") + " " + m.group + " " + m.role,
          tg("sso.confirmRemove", { group: m.group, role: m.role }), status,
          () => api("DELETE", `/admin/v1/sso/group-roles/${m.id}`)),
      ]),
      "ssomap",
    ),
  );
}
