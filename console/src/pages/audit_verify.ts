// audit_verify.ts — the audit page's chain verification status (GET /admin/v1/audit/verification):
// the daemon checks its hash chain and signatures on request, and this says intact ✓ or where it
// breaks. Loaded after the search so that a large log's check does not hold the page.
import { api } from "../api";
import { t } from "../i18n";
import { errorBox, fmtTime, h, section } from "../ui";

interface At {
  seq: number;
  time: string | null;
}

interface Verification {
  intact: boolean;
  checked_at: string;
  segments: number;
  records: number;
  first: At | null;
  last: At | null;
  last_checkpoint: At | null;
  last_hash: string;
  broken: { segment: string | null; line: number; seq: number; reason: string } | null;
}

function at(a: At | null): string {
  return a ? `#${a.seq} (${fmtTime(a.time)})` : "-";
}

function details(v: Verification): HTMLElement {
  const row = (k: string, val: string | Node) => [h("dt", {}, k), h("dd", {}, val)];
  return h(
    "dl",
    { class: "kv" },
    row(t("audit.verify.segments"), String(v.segments)),
    row(t("audit.verify.records"), String(v.records)),
    row(t("audit.verify.first"), at(v.first)),
    row(t("audit.verify.last"), at(v.last)),
    row(t("audit.verify.checkpoint"), at(v.last_checkpoint)),
    row(t("audit.verify.hash"), h("code", {}, v.last_hash)),
    row(t("audit.verify.checkedAt"), fmtTime(v.checked_at)),
  );
}

function status(v: Verification): HTMLElement {
  if (v.intact)
    return h("p", { class: "ok", "data-testid": "audit-verify-status", "data-intact": "true" }, "✓ " + t("audit.verify.ok"));
  const b = v.broken!;
  const where = b.segment ? t("audit.verify.where", { segment: b.segment, line: b.line, seq: b.seq }) : "";
  return h(
    "p",
    { class: "error", role: "alert", "data-testid": "audit-verify-status", "data-intact": "false" },
    "✗ " + t("audit.verify.broken") + " " + where + ": " + b.reason,
  );
}

export function verificationSection(): HTMLElement {
  const body = h("div", { "aria-live": "polite" }, h("p", { class: "muted" }, t("loading")));
  const run = async () => {
    body.replaceChildren(h("p", { class: "muted" }, t("loading")));
    try {
      const v = await api<Verification>("GET", "/admin/v1/audit/verification");
      body.replaceChildren(status(v), details(v));
    } catch (e) {
      body.replaceChildren(errorBox(e));
    }
  };
  void run();
  return section(
    t("audit.verify.title"),
    h("p", { class: "muted" }, t("audit.verify.lead")),
    body,
    h("button", { type: "button", "data-testid": "audit-verify-again", onclick: () => void run() }, t("audit.verify.again")),
  );
}
