// bindings.ts — a tenant's role bindings: list (principal, role, scope), grant a role to a user or a
// group at the tenant or one of its projects, revoke. With the header's picker on "platform" (an
// operator), the platform-scope bindings instead: their principals are platform users (from
// /admin/v1/platform/users where the caller may list them), the roles those bindable at platform. The API refuses
// escalation (a role with a permission the caller lacks); the page says so in words.
import { api, listAll } from "../api";
import { tg } from "../i18n_gov";
import type { Session } from "../api";
import type { Ctx } from "../main";
import { field, fmtTime, h, inlineForm, section, table } from "../ui";
import { actButton, reload, statusArea } from "./gov_common";
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

/** What a tenant's pages need to name principals, roles and scopes (tenant null: the platform). */
export interface Names {
  tenant: string | null;
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
  return { tenant, roles, projects, users, groups };
}

/** The platform's: its roles and its users (the one signed in at least, when the caller may not
 * list them). */
export async function platformNames(session: Session): Promise<Names> {
  const roles = (await api<{ items: Role[] }>("GET", "/admin/v1/roles")).items.filter((r) => !r.implicit && r.scopes.includes("platform"));
  const users = new Map([[session.user, session.name]]);
  try {
    for (const u of await listAll<{ id: string; name: string }>("/admin/v1/platform/users")) users.set(u.id, u.name);
  } catch {
    /* no user.list at platform: the others are named by id */
  }
  return { tenant: null, roles, projects: [], users, groups: new Map() };
}

/** The operator's view when the header's picker is on "platform". */
export const isPlatformView = (ctx: Ctx) => !ctx.tenant && !ctx.session.tenant;

export function scopeText(n: Names, scope: string): string {
  if (scope.startsWith("project/")) {
    const id = scope.slice(8);
    return tg("scope.project", { name: n.projects.find((p) => p.id === id)?.name ?? id });
  }
  return tg(scope === "platform" ? "scope.platform" : "scope.tenant");
}

/** The role and scope pickers, shared with the SSO mappings page. */
export function roleScopePickers(n: Names): { role: HTMLSelectElement; scope: HTMLSelectElement } {
  const role = h(
    "select",
    { name: "role" },
    n.roles.map((r) => h("option", { value: r.name, title: r.description }, r.name + " — " + r.description)),
  ) as HTMLSelectElement;
  const scope = (
    n.tenant === null
      ? h("select", { name: "scope" }, h("option", { value: "platform" }, tg("scope.platform")))
      : h(
          "select",
          { name: "scope" },
          h("option", { value: "tenant/" + n.tenant }, tg("bindings.scope.tenant")),
          n.projects.map((p) => h("option", { value: "project/" + p.id }, tg("bindings.scope.project", { name: p.name }))),
        )
  ) as HTMLSelectElement;
  return { role, scope };
}

// a platform user is given by id (offered: the operator's own and those bound already)
function platformPrincipal(): HTMLInputElement {
  return h("input", { type: "text", name: "principal", required: true, list: "platform-users" }) as HTMLInputElement;
}

function grantForm(n: Names): HTMLElement {
  const principal = (
    n.tenant === null
      ? platformPrincipal()
      : h(
          "select",
          { name: "principal" },
          h("optgroup", { label: tg("bindings.users") }, [...n.users].map(([id, name]) => h("option", { value: id }, name))),
          h("optgroup", { label: tg("bindings.groups") }, [...n.groups].map(([id, name]) => h("option", { value: id }, name))),
        )
  ) as HTMLInputElement | HTMLSelectElement;
  const known = n.tenant === null ? [h("datalist", { id: "platform-users" }, [...n.users].map(([id, name]) => h("option", { value: id }, name)))] : [];
  const { role, scope } = roleScopePickers(n);
  const status = statusArea();
  const form = inlineForm(
    status,
    async () => {
      await api("POST", "/admin/v1/role-bindings", { principal: principal.value, role: role.value, scope: scope.value });
      reload();
    },
    [
      field(tg(n.tenant === null ? "bindings.platformUser" : "bindings.principal"), principal),
      ...known,
      field(tg("bindings.role"), role),
      field(tg("bindings.scope"), scope),
      h("button", { type: "submit" }, tg("bindings.grant")),
    ],
  );
  return section(tg("bindings.new"), h("p", { class: "muted" }, tg("bindings.note")), form, status);
}

export async function bindingsPage(ctx: Ctx, main: HTMLElement): Promise<void> {
  const platform = isPlatformView(ctx);
  const tenant = platform ? null : needTenant(ctx, main, tg("bindings.title"));
  if (!platform && !tenant) return;
  const [n, all] = await Promise.all([
    tenant ? loadNames(tenant) : platformNames(ctx.session),
    listAll<Binding>(tenant ? "/admin/v1/role-bindings" : "/admin/v1/role-bindings?scope=platform"),
  ]);
  const items = all.filter((b) => (tenant ? b.tenant === tenant : b.scope === "platform"));
  for (const b of items) if (!tenant && b.principal_type !== "group" && !n.users.has(b.principal)) n.users.set(b.principal, b.principal);
  const status = statusArea();
  const who = (b: Binding) =>
    b.principal_type === "group"
      ? tg("bindings.group", { name: n.groups.get(b.principal) ?? b.principal })
      : tg("bindings.user", { name: n.users.get(b.principal) ?? b.principal });
  main.append(
    h("h1", {}, tenant ? tg("bindings.title") : tg("bindings.platformTitle")),
    grantForm(n),
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
