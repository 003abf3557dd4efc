// home.ts — at a glance: this month's cost so far, the AI budget use of each project, alerts (a
// budget past one of its thresholds), and whether this node is ready.
import { api } from "../api";
import { t } from "../i18n";
import type { Ctx } from "../main";
import { h, jstMonth, microyen, section, table, yenText } from "../ui";
import { loadReport } from "./costs_data";

interface Budget {
  project: string;
  monthly_yen: number | null;
  spent_microyen: number;
  alerts_crossed: number[];
}

async function budgets(ctx: Ctx): Promise<{ name: string; b: Budget }[]> {
  if (!ctx.tenant) return [];
  const { items } = await api<{ items: { id: string; name: string }[] }>(
    "GET",
    `/admin/v1/tenants/${ctx.tenant}/projects?limit=1000`,
  );
  const out: { name: string; b: Budget }[] = [];
  for (const p of items) {
    try {
      out.push({ name: p.name, b: await api<Budget>("GET", `/admin/v1/projects/${p.id}/budget`) });
    } catch {
      /* no ai.budget.read there: not shown */
    }
  }
  return out;
}

export async function homePage(ctx: Ctx, main: HTMLElement): Promise<void> {
  const rep = await loadReport(jstMonth(), ctx.tenant);
  let sub = 0n,
    incl = 0n;
  for (const inv of rep.invoices) {
    sub += microyen(inv.usage_subtotal);
    incl += microyen(inv.amount_including_tax);
  }
  const ready = await fetch("/readyz").then((r) => r.ok).catch(() => false);
  const bs = await budgets(ctx);
  const pct = (b: Budget) => (b.monthly_yen ? Math.floor((b.spent_microyen / 1e6 / b.monthly_yen) * 100) : 0);
  const alerts = bs.filter((x) => x.b.alerts_crossed.length > 0);
  main.append(
    h("h1", {}, t("nav.home")),
    h(
      "div",
      { class: "grid2" },
      section(
        t("home.cost"),
        h("p", { class: "big", "data-testid": "home-cost" }, yenText(sub) + " " + t("costs.yen")),
        h("p", { class: "muted" }, t("home.tax", { yen: yenText(incl).replace(/\.\d+$/, "") })),
      ),
      section(
        t("home.health"),
        h("p", { class: ready ? "ok" : "error" }, ready ? t("home.health.ok") : t("home.health.bad")),
      ),
    ),
    section(
      t("home.alerts"),
      alerts.length
        ? h("ul", {}, alerts.map((x) => h("li", { class: "warn" }, t("home.alert.budget", { project: x.name, pct: pct(x.b) }))))
        : h("p", { class: "muted" }, t("home.alert.none")),
    ),
    table(
      t("home.budgets"),
      [t("col.project"), t("col.budget"), t("col.spent"), "%"],
      bs.map((x) => [
        x.name,
        x.b.monthly_yen === null ? "-" : x.b.monthly_yen.toLocaleString(),
        yenText(BigInt(x.b.spent_microyen)),
        x.b.monthly_yen ? h("meter", { min: 0, max: 100, value: pct(x.b), "aria-label": x.name }, pct(x.b) + "%") : "-",
      ]),
    ),
  );
}
