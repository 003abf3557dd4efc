// audit.ts — search the audit log by time, principal and action (newest first, a page at a time)
// and export the same search as JSON Lines; above them, the chain's verification status.
import { api, qs } from "../api";
import { t } from "../i18n";
import type { Ctx } from "../main";
import { field, fmtTime, h, table } from "../ui";
import { verificationSection } from "./audit_verify";

interface Rec {
  time: string;
  principal: string;
  action: string;
  target: string | null;
  outcome: string;
  status: number;
}

function toIso(local: string): string | null {
  return local ? new Date(local).toISOString() : null;
}

export async function auditPage(ctx: Ctx, main: HTMLElement): Promise<void> {
  const since = h("input", { type: "datetime-local", name: "since" }) as HTMLInputElement;
  const until = h("input", { type: "datetime-local", name: "until" }) as HTMLInputElement;
  const principal = h("input", { type: "text", name: "principal", autocomplete: "off" }) as HTMLInputElement;
  const action = h("input", { type: "text", name: "action", autocomplete: "off" }) as HTMLInputElement;
  const results = h("div", { "aria-live": "polite" });
  const exportLink = h("a", { href: "/admin/v1/audit/export", download: "audit.jsonl", "data-testid": "audit-export" }, t("audit.export"));
  let rows: Rec[] = [];

  const params = () => ({
    tenant: ctx.tenant,
    since: toIso(since.value),
    until: toIso(until.value),
    principal: principal.value.trim() || null,
    action: action.value.trim() || null,
  });
  const show = (more: string | null) => {
    results.replaceChildren(
      table(
        t("audit.title"),
        [t("col.time"), t("col.principal"), t("col.action"), t("col.target"), t("col.outcome"), t("col.status")],
        rows.map((r) => [fmtTime(r.time), r.principal, r.action, r.target, r.outcome, r.status]),
        "audit-results",
      ),
      more ? h("button", { type: "button", onclick: () => void search(more) }, t("audit.more")) : "",
    );
  };
  const search = async (cursor: string | null) => {
    const p = params();
    const page = await api<{ items: Rec[]; next_cursor?: string | null }>(
      "GET",
      "/admin/v1/audit" + qs({ ...p, limit: "100", cursor }),
    );
    rows = cursor ? rows.concat(page.items) : page.items;
    exportLink.setAttribute("href", "/admin/v1/audit/export" + qs(p));
    show(page.next_cursor ?? null);
  };
  const form = h(
    "form",
    {
      class: "inline",
      role: "search",
      onsubmit: (e: Event) => {
        e.preventDefault();
        search(null).catch((err) => results.replaceChildren(h("p", { class: "error", role: "alert" }, String(err.message))));
      },
    },
    field(t("audit.since"), since),
    field(t("audit.until"), until),
    field(t("audit.principal"), principal),
    field(t("audit.action"), action),
    h("button", { type: "submit" }, t("audit.search")),
  );
  main.append(h("h1", {}, t("audit.title")), verificationSection(), form, h("p", {}, exportLink), results);
  await search(null);
}
