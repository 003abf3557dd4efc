// ai_decisions.ts — the AI page's classification decisions (GET /admin/v1/ai/decisions): how many
// requests the gateway allowed, masked (personal identifiers replaced), blocked (identifiers that
// may not be sent) or refused (no target allowed for the classification), in a month or a fiscal
// year (exact over a year: the audit index keeps the counts per block), by
// classification level (機密性1/2/3), model, project and user (per-user use, SPEC.md G). Counted
// from the audit log's decision records, so refused requests, which have no usage, are counted too.
import { api, listAll, qs } from "../api";
import { barChart } from "../chart";
import { t } from "../i18n";
import { h, section, table } from "../ui";

interface Tally {
  requests: number;
  pass: number;
  mask: number;
  block: number;
  refuse: number;
}

interface Decisions {
  total: Tally;
  unscanned: number;
  by_classification: Record<string, Tally>;
  by_model: Record<string, Tally>;
  by_project: Record<string, Tally>;
  by_principal: Record<string, Tally>;
}

/** A period [since, until) as RFC 3339. */
export type Period = [string, string];

/** The first instant of a JST month (YYYY-MM) and of the month after. */
export function jstMonthRange(month: string): Period {
  const [y, m] = month.split("-").map(Number);
  const start = new Date(Date.UTC(y, m - 1, 1) - 9 * 3600 * 1000);
  const end = new Date(Date.UTC(y, m, 1) - 9 * 3600 * 1000);
  return [start.toISOString(), end.toISOString()];
}

/** A Japanese fiscal year (年度 N: April of N to March of N+1, JST). */
export function jstFiscalYearRange(fy: number): Period {
  return [jstMonthRange(`${fy}-04`)[0], jstMonthRange(`${fy + 1}-04`)[0]];
}

const kinds = ["pass", "mask", "block", "refuse"] as const;
const kindKey = { pass: "ai.dec.pass", mask: "ai.dec.mask", block: "ai.dec.block", refuse: "ai.dec.refuse" } as const;

function tallyTable(caption: string, first: string, group: Record<string, Tally>, label: (k: string) => string, testid: string): HTMLElement {
  const keys = Object.keys(group).sort();
  return table(
    caption,
    [first, t("ai.dec.requests"), t("ai.dec.pass"), t("ai.dec.mask"), t("ai.dec.block"), t("ai.dec.refuse")],
    keys.map((k) => [label(k), group[k].requests, ...kinds.map((d) => group[k][d])]),
    testid,
  );
}

/** tenant null: every tenant's (platform scope, usage.read there): ids stand for projects and users. */
export async function decisionsSection(tenant: string | null, [since, until]: Period): Promise<HTMLElement> {
  const named = (path: string) => (tenant ? listAll<{ id: string; name: string }>(path).catch(() => []) : Promise.resolve([]));
  const [d, projects, people] = await Promise.all([
    api<Decisions>("GET", "/admin/v1/ai/decisions" + qs({ tenant, since, until })),
    named(`/admin/v1/tenants/${tenant}/projects`),
    // the users' names where the caller may list them (an auditor may; else the ids are shown)
    named(`/admin/v1/tenants/${tenant}/users`),
  ]);
  const names = new Map(projects.map((p) => [p.id, p.name]));
  const users = new Map(people.map((u) => [u.id, u.name]));
  // barChart draws value / 1e6: counts are scaled up to fit
  const chart = new Map<string, bigint>(kinds.map((k) => [t(kindKey[k]), BigInt(d.total[k]) * 1000000n]));
  const tot = d.total;
  return section(
    t("ai.dec.title"),
    h("p", { class: "muted" }, t("ai.dec.lead")),
    h(
      "p",
      { "data-testid": "ai-decisions-total", "data-counts": JSON.stringify(tot) },
      t("ai.dec.summary", { requests: tot.requests, pass: tot.pass, mask: tot.mask, block: tot.block, refuse: tot.refuse }),
    ),
    d.unscanned ? h("p", { "data-testid": "ai-decisions-unscanned" }, t("ai.dec.unscanned", { n: d.unscanned })) : "",
    h(
      "p",
      { class: "downloads" },
      h("a", { href: "/admin/v1/ai/decisions" + qs({ tenant, since, until, format: "csv" }), download: "kasumi-ai-decisions.csv", "data-testid": "dl-ai-decisions" }, t("ai.csv")),
    ),
    barChart(t("ai.dec.title"), chart, t("ai.dec.unit")),
    tallyTable(t("ai.dec.byClass"), t("ai.dec.class"), d.by_classification, (k) => t("ai.dec.level", { n: k }), "ai-decisions-class"),
    tallyTable(t("ai.dec.byModel"), t("col.model"), d.by_model, (k) => k, "ai-decisions-model"),
    tallyTable(t("ai.dec.byProject"), t("col.project"), d.by_project, (k) => names.get(k) ?? k, "ai-decisions-project"),
    tallyTable(t("ai.dec.byUser"), t("col.user"), d.by_principal ?? {}, (k) => users.get(k) ?? k, "ai-decisions-user"),
  );
}
