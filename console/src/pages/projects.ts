// projects.ts — a tenant's projects (情報システム): list, create, delete.
import { api, listAll } from "../api";
import { t } from "../i18n";
import type { Ctx } from "../main";
import { errorBox, field, fmtTime, h, inlineForm, section, table } from "../ui";
import { reload } from "./gov_common";
import { needTenant } from "./need";

interface Project {
  id: string;
  name: string;
  environment: string;
  description: string;
  created_at: string;
}

export async function projectsPage(ctx: Ctx, main: HTMLElement): Promise<void> {
  const tenant = needTenant(ctx, main, t("projects.title"));
  if (!tenant) return;
  const items = await listAll<Project>(`/admin/v1/tenants/${tenant}/projects`);
  const name = h("input", { type: "text", name: "name", required: true, maxlength: 100 }) as HTMLInputElement;
  const env = h(
    "select",
    { name: "environment" },
    ["prod", "staging", "dev"].map((e) => h("option", { value: e }, e)),
  ) as HTMLSelectElement;
  const desc = h("input", { type: "text", name: "description", maxlength: 1000 }) as HTMLInputElement;
  const status = h("div", { "aria-live": "polite" });
  const form = inlineForm(
    status,
    async () => {
      await api("POST", `/admin/v1/tenants/${tenant}/projects`, {
        name: name.value,
        environment: env.value,
        description: desc.value,
      });
      reload();
    },
    [
      field(t("projects.name"), name),
      field(t("projects.env"), env),
      field(t("projects.description"), desc),
      h("button", { type: "submit" }, t("projects.create")),
    ],
  );
  const del = (p: Project) =>
    h(
      "button",
      {
        type: "button",
        class: "danger",
        "aria-label": t("projects.delete") + " " + p.name,
        onclick: async () => {
          if (!confirm(t("projects.confirmDelete", { name: p.name }))) return;
          try {
            await api("DELETE", `/admin/v1/projects/${p.id}`);
            reload();
          } catch (err) {
            status.replaceChildren(errorBox(err));
          }
        },
      },
      t("projects.delete"),
    );
  main.append(
    h("h1", {}, t("projects.title")),
    section(t("projects.new"), form, status),
    table(
      t("projects.title"),
      [t("col.name"), t("col.env"), t("col.description"), t("col.id"), t("col.created"), t("col.actions")],
      items.map((p) => [p.name, p.environment, p.description, h("code", {}, p.id), fmtTime(p.created_at), del(p)]),
      "projects",
    ),
  );
}
