// groups.ts — a tenant's groups: list, create, delete, and each group's members (add a user of the
// tenant, remove one). Role bindings to a group apply to its members (bindings.ts grants them).
import { api, listAll } from "../api";
import { tg } from "../i18n_gov";
import type { Ctx } from "../main";
import { field, h, inlineForm, section } from "../ui";
import { actButton, reload, statusArea } from "./gov_common";
import { needTenant } from "./need";

export interface Group {
  id: string;
  name: string;
  members: string[];
}
export interface User {
  id: string;
  name: string;
  email: string;
}

/** The tenant's users, or [] when the caller may not list them (ids are shown instead). */
export async function tenantUsers(tenant: string): Promise<User[]> {
  try {
    return await listAll<User>(`/admin/v1/tenants/${tenant}/users`);
  } catch {
    return [];
  }
}

function createForm(tenant: string): HTMLElement {
  const name = h("input", { type: "text", name: "name", required: true, maxlength: 100 }) as HTMLInputElement;
  const status = statusArea();
  const form = inlineForm(
    status,
    async () => {
      await api("POST", `/admin/v1/tenants/${tenant}/groups`, { name: name.value });
      reload();
    },
    [
      field(tg("groups.name"), name),
      h("button", { type: "submit" }, tg("groups.create")),
    ],
  );
  return section(tg("groups.new"), form, status);
}

function groupCard(g: Group, users: User[]): HTMLElement {
  const names = new Map(users.map((u) => [u.id, u.name]));
  const status = statusArea();
  const who = (id: string) => names.get(id) ?? id;
  const members = g.members.length
    ? h(
        "ul",
        { class: "plain", "aria-label": tg("groups.members", { name: g.name }) },
        g.members.map((m) =>
          h(
            "li",
            { class: "row" },
            h("span", {}, who(m)),
            actButton(tg("groups.remove"), tg("groups.remove") + " " + who(m), tg("groups.confirmRemove", { user: who(m), group: g.name }),
              status, () => api("DELETE", `/admin/v1/groups/${g.id}/members/${m}`), false),
          ),
        ),
      )
    : h("p", { class: "muted" }, tg("groups.noMembers"));
  const candidates = users.filter((u) => !g.members.includes(u.id));
  const pick = h("select", { name: "user" }, candidates.map((u) => h("option", { value: u.id }, u.name + " <" + u.email + ">"))) as HTMLSelectElement;
  const add = inlineForm(
    status,
    async () => {
      await api("PUT", `/admin/v1/groups/${g.id}/members/${pick.value}`);
      reload();
    },
    [
      field(tg("groups.user"), pick),
      h("button", { type: "submit", disabled: !candidates.length, "aria-label": tg("groups.add") + " (" + g.name + ")" }, tg("groups.add")),
    ],
  );
  return h(
    "section",
    { class: "card", "data-testid": "group", "data-group": g.name, "aria-labelledby": "g-" + g.id },
    h("h2", { id: "g-" + g.id }, g.name, " ", h("code", { class: "muted" }, g.id)),
    h("h3", {}, tg("col.members")),
    members,
    add,
    status,
    actButton(tg("groups.delete"), tg("groups.delete") + " " + g.name, tg("groups.confirmDelete", { name: g.name }),
      status, () => api("DELETE", `/admin/v1/groups/${g.id}`)),
  );
}

export async function groupsPage(ctx: Ctx, main: HTMLElement): Promise<void> {
  const tenant = needTenant(ctx, main, tg("groups.title"));
  if (!tenant) return;
  // the list carries no members: each group is read for them
  const list = await listAll<Group>(`/admin/v1/tenants/${tenant}/groups`);
  const groups = await Promise.all(list.map((g) => api<Group>("GET", `/admin/v1/groups/${g.id}`)));
  const users = await tenantUsers(tenant);
  main.append(
    h("h1", {}, tg("groups.title")),
    createForm(tenant),
    ...groups.map((g) => groupCard(g, users)),
  );
}
