// keys.ts — API keys: list, create (the secret is shown once, in a dialog, and kept nowhere),
// revoke. A user may always make keys for itself; for others it needs key.create. The caller's own
// keys narrowed to a project also show what holds for them at the AI gateway — the month's spend
// and cap, the models, the limits a minute — which a key's user may read (key.self) but only the
// project's administrators set: what a member refused for its key's budget asks next.
import { api, listAll, qs } from "../api";
import { t } from "../i18n";
import type { Ctx } from "../main";
import { errorBox, field, fmtTime, h, inlineForm, section, table, yenText } from "../ui";
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

interface KeyBudget {
  monthly_yen: number | null;
  spent_microyen: number;
}

/** A row of what holds for one of the caller's own project keys; "-" where a read failed. */
async function limitsRow(k: Key, project: string): Promise<(string | HTMLElement)[]> {
  const base = `/admin/v1/projects/${k.project}/keys/${k.id}`;
  const [b, m, r] = await Promise.all([
    api<KeyBudget>("GET", base + "/budget").catch(() => null),
    api<{ models: string[] | null }>("GET", base + "/models").catch(() => null),
    api<{ applied_rpm: number; applied_tpm: number }>("GET", base + "/rate-limits").catch(() => null),
  ]);
  const perMinute = (v: number | undefined) =>
    v === undefined ? "-" : v === 0 ? t("keys.limits.unlimited") : v.toLocaleString("en-US");
  const models = !m ? "-" : m.models === null ? t("keys.limits.allModels") : m.models.length ? m.models.join(", ") : t("keys.limits.noModels");
  return [
    k.name ?? k.id,
    project,
    b ? yenText(BigInt(b.spent_microyen)) : "-",
    !b ? "-" : b.monthly_yen === null ? t("keys.limits.noCap") : b.monthly_yen.toLocaleString("en-US"),
    models,
    perMinute(r?.applied_rpm),
    perMinute(r?.applied_tpm),
  ];
}

async function ownLimits(ctx: Ctx, keys: Key[], pnames: Map<string, string>): Promise<HTMLElement | string> {
  const own = keys.filter((k) => k.user === ctx.session.user && k.status === "active" && k.project);
  if (!own.length) return "";
  const rows = await Promise.all(own.map((k) => limitsRow(k, pnames.get(k.project ?? "") ?? k.project ?? "")));
  return section(
    t("keys.limits.title"),
    h("p", { class: "muted" }, t("keys.limits.lead")),
    table(
      t("keys.limits.title"),
      [t("col.name"), t("col.project"), t("keys.limits.spent"), t("keys.limits.cap"), t("keys.limits.models"), t("keys.limits.rpm"), t("keys.limits.tpm")],
      rows,
      "key-limits",
    ),
  );
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
    await ownLimits(ctx, keys, pnames),
  );
}
