// storage.ts — each project's storage quota and what its buckets hold now. The object browser
// needs admin routes for objects (not built yet: see docs/console.md).
import { api, listAll } from "../api";
import { t } from "../i18n";
import type { Ctx } from "../main";
import { h, table } from "../ui";
import { needTenant } from "./need";

interface Quota {
  max_bytes: number | null;
  max_objects: number | null;
  used_bytes: number;
  used_objects: number;
}

export async function storagePage(ctx: Ctx, main: HTMLElement): Promise<void> {
  const tenant = needTenant(ctx, main, t("storage.title"));
  if (!tenant) return;
  const projects = await listAll<{ id: string; name: string }>(`/admin/v1/tenants/${tenant}/projects`);
  const rows = [];
  for (const p of projects) {
    try {
      const q = await api<Quota>("GET", `/admin/v1/projects/${p.id}/storage-quota`);
      rows.push([
        p.name,
        q.used_bytes.toLocaleString() + " B / " + (q.max_bytes === null ? t("storage.nolimit") : q.max_bytes.toLocaleString() + " B"),
        q.used_objects.toLocaleString() + " / " + (q.max_objects === null ? t("storage.nolimit") : q.max_objects.toLocaleString()),
      ]);
    } catch {
      /* no storage.quota.read in this project */
    }
  }
  main.append(
    h("h1", {}, t("storage.title")),
    table(t("storage.quota"), [t("col.project"), t("storage.used") + " (bytes)", t("storage.used") + " (objects)"], rows, "storage"),
    h("p", { class: "muted" }, t("storage.browser")),
  );
}
