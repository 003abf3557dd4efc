// objects.ts — the object browser (#/storage?project=P&bucket=B&prefix=X): one bucket's folders and
// objects under a prefix, a page at a time, an upload into the folder shown and a download link per
// object, and a delete button per object (after a confirmation naming it). Everything goes through the admin API with the user's own S3 permissions.
import { ApiError, api, putFile, qs } from "../api";
import { t } from "../i18n";
import { tg } from "../i18n_gov";
import { actButton, reload } from "./gov_common";
import { errorBox, field, fmtTime, h, section, table } from "../ui";

interface Listing {
  items: { key: string; size: number; etag: string; last_modified: string }[];
  prefixes: string[];
  next_cursor: string | null;
}

export interface Where {
  project: string;
  bucket: string;
  prefix: string;
  cursor: string | null;
}

const base = (w: Where) =>
  `/admin/v1/projects/${encodeURIComponent(w.project)}/buckets/${encodeURIComponent(w.bucket)}`;
export const objectHref = (w: Where, key: string) => base(w) + "/object" + qs({ key });
export const browseHash = (w: Where, prefix: string, cursor: string | null = null) =>
  "#/storage" + qs({ project: w.project, bucket: w.bucket, prefix, cursor });

// the path from the bucket down to the prefix, each step a link
function crumbs(w: Where): HTMLElement {
  const parts = w.prefix.split("/").filter(Boolean);
  const links = [h("a", { href: browseHash(w, "") }, w.bucket)];
  parts.forEach((p, i) => links.push(h("a", { href: browseHash(w, parts.slice(0, i + 1).join("/") + "/") }, p)));
  return h("nav", { class: "crumbs", "aria-label": t("objects.path") }, h("p", { "data-testid": "object-path" }, links.flatMap((a, i) => (i ? [" / ", a] : [a]))));
}

// The upload: a file chosen in the form or dropped on it goes up with a progress bar; the name is
// the file's own (UTF-8, Japanese included) under the folder shown.
function uploadForm(w: Where, status: HTMLElement): HTMLElement {
  const file = h("input", { type: "file", name: "file", required: true }) as HTMLInputElement;
  const bar = h("progress", { max: "100", value: "0", "aria-label": t("objects.progress"), hidden: true }) as HTMLProgressElement;
  const send = async (f: File) => {
    bar.hidden = false;
    bar.value = 0;
    status.replaceChildren(h("p", { "data-testid": "upload-status" }, t("objects.sending", { name: f.name })));
    try {
      await putFile(objectHref(w, w.prefix + f.name), f, (sent, total) => {
        bar.value = total ? Math.floor((sent * 100) / total) : 0;
      });
      reload();
    } catch (err) {
      bar.hidden = true;
      status.replaceChildren(errorBox(err instanceof ApiError && err.status === 413 ? new Error(t("objects.tooLarge")) : err));
    }
  };
  const form = h(
    "form",
    {
      class: "inline dropzone",
      "data-testid": "upload-form",
      onsubmit: (e: Event) => {
        e.preventDefault();
        const f = file.files?.[0];
        if (f) void send(f);
      },
      ondragover: (e: Event) => {
        e.preventDefault();
        form.classList.add("dragging");
      },
      ondragleave: () => form.classList.remove("dragging"),
      ondrop: (e: Event) => {
        e.preventDefault();
        form.classList.remove("dragging");
        const f = (e as DragEvent).dataTransfer?.files?.[0];
        if (f) void send(f);
      },
    },
    field(t("objects.file"), file),
    h("button", { type: "submit" }, t("objects.upload")),
    bar,
  );
  return form;
}

export async function objectsPage(w: Where, main: HTMLElement): Promise<void> {
  const list = await api<Listing>("GET", base(w) + "/objects" + qs({ prefix: w.prefix, cursor: w.cursor, limit: "100" }));
  const status = h("div", { "aria-live": "polite" });
  const rows = [
    ...list.prefixes.map((p) => [h("a", { href: browseHash(w, p) }, p.slice(w.prefix.length)), t("objects.folder"), "", ""]),
    ...list.items.map((o) => [
      o.key.slice(w.prefix.length),
      o.size.toLocaleString(),
      fmtTime(o.last_modified),
      h(
        "span",
        { class: "actions" },
        h("a", { href: objectHref(w, o.key), download: o.key.split("/").pop() || o.key, "aria-label": t("objects.download") + " " + o.key }, t("objects.download")),
        " ",
        actButton(tg("objects.delete"), tg("objects.delete") + " " + o.key, tg("objects.confirmDelete", { key: o.key }), status, () =>
          api("DELETE", objectHref(w, o.key)),
        ),
      ),
    ]),
  ];
  main.append(
    h("h1", {}, t("objects.title", { bucket: w.bucket })),
    h("p", {}, h("a", { href: "#/storage" }, t("objects.back"))),
    crumbs(w),
    section(t("objects.uploadTitle"), uploadForm(w, status), h("p", { class: "muted" }, t("objects.uploadNote")), status),
    table(t("objects.list"), [t("col.name"), t("col.bytes"), t("col.modified"), t("col.actions")], rows, "objects"),
  );
  if (list.next_cursor)
    main.append(h("p", {}, h("a", { href: browseHash(w, w.prefix, list.next_cursor), "data-testid": "objects-more" }, t("objects.more"))));
}
