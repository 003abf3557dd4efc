// costs_fy.ts — the fiscal year to date (年度累計) on the costs page: a government's budget is a
// fiscal year's (April to March), so beside the month the page shows what the year has cost so
// far — a bar per month from April up to the month shown, and the year's cost per project — from
// the same monthly reports (closed months from their ledger, the open one from the rollup).
import { barChart } from "../chart";
import { t } from "../i18n";
import { h, section, table, yenText } from "../ui";
import { loadReport, sumBy, usageLines } from "./costs_data";

/** The fiscal year a JST month (YYYY-MM) falls in: January to March belong to the year before. */
export function fiscalYearOf(month: string): number {
  const [y, m] = month.split("-").map(Number);
  return m >= 4 ? y : y - 1;
}

/** The months of month's fiscal year from April up to month itself. */
export function fiscalMonthsTo(month: string): string[] {
  const fy = fiscalYearOf(month);
  const out: string[] = [];
  for (let i = 0; i < 12; i++) {
    const m = ((3 + i) % 12) + 1;
    const s = `${fy + (i >= 9 ? 1 : 0)}-${String(m).padStart(2, "0")}`;
    out.push(s);
    if (s === month) break;
  }
  return out;
}

export async function fiscalYearSection(month: string, tenant: string | null): Promise<HTMLElement> {
  const months = fiscalMonthsTo(month);
  const reports = await Promise.all(months.map((m) => loadReport(m, tenant)));
  const byMonth = new Map<string, bigint>();
  const lines = reports.flatMap((r, i) => {
    const ls = usageLines(r);
    byMonth.set(months[i], [...sumBy(ls, () => "").values()].reduce((a, b) => a + b, 0n));
    return ls;
  });
  const total = [...byMonth.values()].reduce((a, b) => a + b, 0n);
  const byProject = sumBy(lines, (l) => l.x_Project ?? l.SubAccountId ?? "-");
  const fy = fiscalYearOf(month);
  return section(
    t("costs.fy.title", { fy }),
    h(
      "p",
      { class: "big" },
      h("span", { "data-testid": "cost-fy-total", "data-microyen": total.toString() }, yenText(total)),
      " " + t("costs.yen"),
    ),
    h("p", { class: "muted", "data-testid": "cost-fy-period" }, t("costs.fy.period", { from: months[0], to: months[months.length - 1] })),
    barChart(t("costs.fy.byMonth"), byMonth, t("costs.yen")),
    table(
      t("costs.fy.byProject"),
      [t("col.project"), t("col.cost")],
      [...byProject.keys()].sort().map((p) => [p, yenText(byProject.get(p)!)]),
      "cost-fy-projects",
    ),
  );
}
