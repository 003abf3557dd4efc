// keys.ts — API keys: list, create (the secret is shown once, in a dialog, and kept nowhere),
// revoke. A user may always make keys for itself; for others it needs key.create.
import { api, listAll, qs } from "../api";
import { t } from "../i18n";
import type { Ctx } from "../main";
import { errorBox, field, fmtTime, h, inlineForm, section, table } from "../ui";
import { reload } from "./gov_common";

interface Key {
  id: string;
  user: string;
  project: string | null;
  name: string | null;
  status: string;
  created_at: string;
  secret?: string;
}

function showSecret(secret: string, onClose: () => void): void {
  const code = h("code", { "data-testid": "key-secret" }, secret);
  const dlg = h(
    "dialog",
    { "aria-labelledby": "secret-title" },
    h("h2", { id: "secret-title" }, t("keys.secret.title")),
    h("p", {}, t("keys.secret.lead")),
    h("p", { class: "secret" }, code),
    h(
      "div",
      { class: "row" },
      h("button", { type: "button", onclick: () => void navigator.clipboard?.writeText(secret) }, t("keys.secret.copy")),
      h(
        "button",
        {
          type: "button",
          "data-testid": "secret-done",
          onclick: () => {
            code.textContent = "";   // the secret leaves the page with the dialog
            (dlg as HTMLDialogElement).close();
            dlg.remove();
            onClose();
          },
        },
        t("keys.secret.done"),
      ),
    ),
  ) as HTMLDialogElement;
  document.body.append(dlg);
  dlg.showModal();
}

export async function keysPage(ctx: Ctx, main: HTMLElement): Promise<void> {
  const keys = await listAll<Key>("/admin/v1/keys" + qs({ tenant: ctx.tenant }));
  let users: { id: string; name: string }[] = [{ id: ctx.session.user, name: ctx.session.name }];
  let projects: { id: string; name: string }[] = [];
  if (ctx.tenant) {
    try {
      users = users.concat((await listAll<{ id: string; name: string }>(`/admin/v1/tenants/${ctx.tenant}/users`)).filter((u) => u.id !== ctx.session.user));
    } catch {
      /* no user.list: own keys only */
    }
    try {
      projects = await listAll(`/admin/v1/tenants/${ctx.tenant}/projects`);
    } catch {
      projects = [];
    }
  }
  const names = new Map(users.map((u) => [u.id, u.name]));
  const pnames = new Map(projects.map((p) => [p.id, p.name]));
  const user = h("select", { name: "user" }, users.map((u) => h("option", { value: u.id }, u.name))) as HTMLSelectElement;
  const name = h("input", { type: "text", name: "name", maxlength: 100 }) as HTMLInputElement;
  const project = h(
    "select",
    { name: "project" },
    h("option", { value: "" }, t("keys.anyProject")),
    projects.map((p) => h("option", { value: p.id }, p.name)),
  ) as HTMLSelectElement;
  const status = h("div", { "aria-live": "polite" });
  const form = inlineForm(
    status,
    async () => {
      const k = await api<Key>("POST", "/admin/v1/keys", {
        user: user.value,
        kind: "api",
        name: name.value || null,
        project: project.value || null,
      });
      showSecret(k.secret ?? "", reload);
    },
    [
      field(t("keys.user"), user),
      field(t("keys.name"), name),
      field(t("keys.project"), project),
      h("button", { type: "submit" }, t("keys.create")),
    ],
  );
  const revoke = (k: Key) =>
    k.status !== "active"
      ? null
      : h(
          "button",
          {
            type: "button",
            class: "danger",
            "aria-label": t("keys.revoke") + " " + (k.name ?? k.id),
            onclick: async () => {
              if (!confirm(t("keys.confirmRevoke", { name: k.name ?? k.id }))) return;
              try {
                await api("DELETE", `/admin/v1/keys/${k.id}`);
                reload();
              } catch (err) {
                status.replaceChildren(errorBox(err));
              }
            },
          },
          t("keys.revoke"),
        );
  main.append(
    h("h1", {}, t("keys.title")),
    section(t("keys.new"), form, status),
    table(
      t("keys.title"),
      [t("col.name"), t("col.user"), t("col.project"), t("col.status"), t("col.id"), t("col.created"), t("col.actions")],
      keys.map((k) => [
        k.name,
        names.get(k.user) ?? k.user,
        k.project ? pnames.get(k.project) ?? k.project : "-",
        k.status,
        h("code", {}, k.id),
        fmtTime(k.created_at),
        revoke(k),
      ]),
      "keys",
    ),
  );
}
