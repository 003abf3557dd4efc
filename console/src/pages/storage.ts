// storage.ts — each project's storage quota (use against it, and a form to set or remove it) and its
// buckets with what they hold now; a bucket's name opens the object browser (objects.ts) on the same
// page, #/storage?project=P&bucket=B.
import { api, listAll } from "../api";
import { t } from "../i18n";
import type { Ctx } from "../main";
import { tg } from "../i18n_gov";
import { errorBox, field, fmtTime, h, inlineForm, section, table } from "../ui";
import { notSupportedHere, storesNothing } from "./env";
import { reload, statusArea } from "./gov_common";
import { needTenant } from "./need";
import { browseHash, objectsPage } from "./objects";

interface Quota {
  max_bytes: number | null;
  max_objects: number | null;
  used_bytes: number;
  used_objects: number;
}
interface Bucket {
  name: string;
  region: string;
  created_at: string;
  bytes: number;
  objects: number;
}

const limit = (v: number | null) => (v === null ? t("storage.nolimit") : v.toLocaleString());

/** The bytes used against the limit, in whole percent (a meter beside it), or "-" without one. */
function use(q: Quota, name: string): HTMLElement | string {
  if (q.max_bytes === null) return "-";
  const pct = q.max_bytes ? Math.floor((q.used_bytes * 100) / q.max_bytes) : q.used_bytes ? 100 : 0;
  return h("span", { class: "row" }, h("meter", { min: 0, max: 100, value: Math.min(pct, 100), "aria-label": tg("quota.use") + " " + name }), pct + "%");
}

/** An empty field is no limit; else a whole number (the API refuses anything else). */
const parseLimit = (s: string): number | null => (s.trim() === "" ? null : Number(s.trim()));

// Both fields empty removes the quota (the API's PUT wants at least one limit).
function quotaForm(projects: { id: string; name: string; q: Quota }[]): HTMLElement {
  const project = h("select", { name: "project" }, projects.map((p) => h("option", { value: p.id }, p.name))) as HTMLSelectElement;
  const bytes = h("input", { type: "number", name: "max_bytes", min: 0, step: 1 }) as HTMLInputElement;
  const objects = h("input", { type: "number", name: "max_objects", min: 0, step: 1 }) as HTMLInputElement;
  const status = statusArea();
  const fill = () => {
    const q = projects.find((p) => p.id === project.value)?.q;
    bytes.value = q?.max_bytes != null ? String(q.max_bytes) : "";
    objects.value = q?.max_objects != null ? String(q.max_objects) : "";
  };
  project.addEventListener("change", fill);
  fill();
  const form = inlineForm(
    status,
    async () => {
      const body = { max_bytes: parseLimit(bytes.value), max_objects: parseLimit(objects.value) };
      const path = `/admin/v1/projects/${encodeURIComponent(project.value)}/storage-quota`;
      if (body.max_bytes === null && body.max_objects === null) {
        const had = projects.find((p) => p.id === project.value)?.q;
        if (had && (had.max_bytes !== null || had.max_objects !== null)) await api("DELETE", path);
      } else {
        await api("PUT", path, body);
      }
      reload();
    },
    [
      field(tg("quota.project"), project),
      field(tg("quota.bytes"), bytes),
      field(tg("quota.objects"), objects),
      h("button", { type: "submit" }, tg("quota.save")),
    ],
    {
      testid: "quota-form",
      onError: (err) => {
        status.replaceChildren(errorBox(err));
        status.focus();
      },
    },
  );
  return section(tg("quota.edit"), form, status);
}

export async function storagePage(ctx: Ctx, main: HTMLElement): Promise<void> {
  const tenant = needTenant(ctx, main, t("storage.title"));
  if (!tenant) return;
  const q = new URLSearchParams(location.hash.split("?")[1] ?? "");
  const project = q.get("project"), bucket = q.get("bucket");
  if (project && bucket)
    return objectsPage({ project, bucket, prefix: q.get("prefix") ?? "", cursor: q.get("cursor") }, main);
  const projects = await listAll<{ id: string; name: string }>(`/admin/v1/tenants/${tenant}/projects`);
  const quotas = [];
  const readable: { id: string; name: string; q: Quota }[] = [];
  const buckets = [];
  for (const p of projects) {
    try {
      const q = await api<Quota>("GET", `/admin/v1/projects/${p.id}/storage-quota`);
      quotas.push([p.name, q.used_bytes.toLocaleString(), limit(q.max_bytes), use(q, p.name), q.used_objects.toLocaleString(), limit(q.max_objects)]);
      readable.push({ id: p.id, name: p.name, q });
    } catch (e) {
      if (notSupportedHere(e)) return storesNothing(main);
      /* no storage.quota.read in this project */
    }
    try {
      const { items } = await api<{ items: Bucket[] }>("GET", `/admin/v1/projects/${p.id}/buckets`);
      for (const b of items)
        buckets.push([p.name, h("a", { href: browseHash({ project: p.id, bucket: b.name, prefix: "", cursor: null }, "") }, b.name), b.region, b.bytes.toLocaleString(), b.objects.toLocaleString(), fmtTime(b.created_at)]);
    } catch {
      /* no s3.bucket.list in this project */
    }
  }
  main.append(
    h("h1", {}, t("storage.title")),
    table(
      t("storage.buckets"),
      [t("col.project"), t("col.name"), t("col.region"), t("col.bytes"), t("col.objects"), t("col.created")],
      buckets,
      "buckets",
    ),
    table(
      t("storage.quota"),
      [t("col.project"), t("storage.used") + " (bytes)", t("storage.limit") + " (bytes)", tg("quota.use"), t("storage.used") + " (objects)", t("storage.limit") + " (objects)"],
      quotas,
      "storage",
    ),
    // shown to whoever reads a quota: the API decides who may set one, and the page says its answer
    ...(readable.length ? [quotaForm(readable)] : []),
    h("p", { class: "muted" }, t("storage.browser")),
  );
}
