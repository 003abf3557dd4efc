// bindings.ts — a tenant's role bindings: list (principal, role, scope), grant a role to a user or a
// group at the tenant or one of its projects, revoke. The API refuses escalation (a role with a
// permission the caller lacks); the page says so in words.
import { api, listAll } from "../api";
import { tg } from "../i18n_gov";
import type { Ctx } from "../main";
import { field, fmtTime, h, section, table } from "../ui";
import { actButton, apiErrorBox, reload, statusArea } from "./gov_common";
import { type Group, tenantUsers } from "./groups";
import { needTenant } from "./need";

export interface Role {
  name: string;
  description: string;
  scopes: string[];
  implicit: boolean;
}
interface Binding {
  id: string;
  principal: string;
  principal_type: string;
  role: string;
  scope: string;
  tenant: string | null;
  project: string | null;
  created_at: string;
  created_by: string;
}

/** What a tenant's pages need to name principals, roles and scopes. */
export interface Names {
  roles: Role[];
  projects: { id: string; name: string }[];
  users: Map<string, string>;
  groups: Map<string, string>;
}

export async function loadNames(tenant: string): Promise<Names> {
  const roles = (await api<{ items: Role[] }>("GET", "/admin/v1/roles")).items.filter(
    (r) => !r.implicit && (r.scopes.includes("tenant") || r.scopes.includes("project")),
  );
  const projects = await listAll<{ id: string; name: string }>(`/admin/v1/tenants/${tenant}/projects`).catch(() => []);
  const users = new Map((await tenantUsers(tenant)).map((u) => [u.id, u.name]));
  const groups = new Map(
    (await listAll<Group>(`/admin/v1/tenants/${tenant}/groups`).catch(() => [] as Group[])).map((g) => [g.id, g.name]),
  );
  return { roles, projects, users, groups };
}

export function scopeText(n: Names, scope: string): string {
  if (scope.startsWith("project/")) {
    const id = scope.slice(8);
    return tg("scope.project", { name: n.projects.find((p) => p.id === id)?.name ?? id });
  }
  return tg(scope === "platform" ? "scope.platform" : "scope.tenant");
}

/** The role and scope pickers, shared with the SSO mappings page. */
export function roleScopePickers(n: Names, tenant: string): { role: HTMLSelectElement; scope: HTMLSelectElement } {
  const role = h(
    "select",
    { name: "role" },
    n.roles.map((r) => h("option", { value: r.name, title: r.description }, r.name + " — " + r.description)),
  ) as HTMLSelectElement;
  const scope = h(
    "select",
    { name: "scope" },
    h("option", { value: "tenant/" + tenant }, tg("bindings.scope.tenant")),
    n.projects.map((p) => h("option", { value: "project/" + p.id }, tg("bindings.scope.project", { name: p.name }))),
  ) as HTMLSelectElement;
  return { role, scope };
}

function grantForm(n: Names, tenant: string): HTMLElement {
  const principal = h(
    "select",
    { name: "principal" },
    h("optgroup", { label: tg("bindings.users") }, [...n.users].map(([id, name]) => h("option", { value: id }, name))),
    h("optgroup", { label: tg("bindings.groups") }, [...n.groups].map(([id, name]) => h("option", { value: id }, name))),
  ) as HTMLSelectElement;
  const { role, scope } = roleScopePickers(n, tenant);
  const status = statusArea();
  const form = h(
    "form",
    {
      class: "inline",
      onsubmit: async (e: Event) => {
        e.preventDefault();
        try {
          await api("POST", "/admin/v1/role-bindings", { principal: principal.value, role: role.value, scope: scope.value });
          reload();
        } catch (err) {
          status.replaceChildren(apiErrorBox(err));
        }
      },
    },
    field(tg("bindings.principal"), principal),
    field(tg("bindings.role"), role),
    field(tg("bindings.scope"), scope),
    h("button", { type: "submit" }, tg("bindings.grant")),
  );
  return section(tg("bindings.new"), h("p", { class: "muted" }, tg("bindings.note")), form, status);
}

export async function bindingsPage(ctx: Ctx, main: HTMLElement): Promise<void> {
  const tenant = needTenant(ctx, main, tg("bindings.title"));
  if (!tenant) return;
  const [n, all] = await Promise.all([loadNames(tenant), listAll<Binding>("/admin/v1/role-bindings")]);
  const items = all.filter((b) => b.tenant === tenant);
  const status = statusArea();
  const who = (b: Binding) =>
    b.principal_type === "group"
      ? tg("bindings.group", { name: n.groups.get(b.principal) ?? b.principal })
      : tg("bindings.user", { name: n.users.get(b.principal) ?? b.principal });
  main.append(
    h("h1", {}, tg("bindings.title")),
    grantForm(n, tenant),
    status,
    table(
      tg("bindings.title"),
      [tg("col.principal"), tg("col.role"), tg("col.scope"), tg("col.created"), tg("col.createdBy"), tg("col.actions")],
      items.map((b) => [
        who(b),
        b.role,
        scopeText(n, b.scope),
        fmtTime(b.created_at),
        h("code", {}, n.users.get(b.created_by) ?? b.created_by),
        actButton(
          tg("bindings.revoke"),
          tg("bindings.revoke") + " " + who(b) + " " + b.role,
          tg("bindings.confirmRevoke", { principal: who(b), role: b.role, scope: scopeText(n, b.scope) }),
          status,
          () => api("DELETE", `/admin/v1/role-bindings/${b.id}`),
        ),
      ]),
      "bindings",
    ),
  );
}
