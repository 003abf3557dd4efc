// storage.ts — each project's storage quota and its buckets with what they hold now; a bucket's name
// opens the object browser (objects.ts) on the same page, #/storage?project=P&bucket=B.
import { api, listAll } from "../api";
import { t } from "../i18n";
import type { Ctx } from "../main";
import { fmtTime, h, table } from "../ui";
import { notSupportedHere, storesNothing } from "./env";
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

export async function storagePage(ctx: Ctx, main: HTMLElement): Promise<void> {
  const tenant = needTenant(ctx, main, t("storage.title"));
  if (!tenant) return;
  const q = new URLSearchParams(location.hash.split("?")[1] ?? "");
  const project = q.get("project"), bucket = q.get("bucket");
  if (project && bucket)
    return objectsPage({ project, bucket, prefix: q.get("prefix") ?? "", cursor: q.get("cursor") }, main);
  const projects = await listAll<{ id: string; name: string }>(`/admin/v1/tenants/${tenant}/projects`);
  const quotas = [];
  const buckets = [];
  for (const p of projects) {
    try {
      const q = await api<Quota>("GET", `/admin/v1/projects/${p.id}/storage-quota`);
      quotas.push([p.name, q.used_bytes.toLocaleString(), limit(q.max_bytes), q.used_objects.toLocaleString(), limit(q.max_objects)]);
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
      [t("col.project"), t("storage.used") + " (bytes)", t("storage.limit") + " (bytes)", t("storage.used") + " (objects)", t("storage.limit") + " (objects)"],
      quotas,
      "storage",
    ),
    h("p", { class: "muted" }, t("storage.browser")),
  );
}
