// costs.ts — a month's costs from the billing report: the total, charts by service, project and
// day, the fiscal year to date (costs_fy.ts), the lines, and the report itself as CSV, XLSX or PDF
// (the same API, downloaded with the cookie).
import { barChart, pieChart } from "../chart";
import { t } from "../i18n";
import type { Ctx } from "../main";
import { field, h, jstMonth, microyen, section, table, yenText } from "../ui";
import { costByDay, loadReport, reportPath, sumBy, usageLines } from "./costs_data";
import { fiscalYearSection } from "./costs_fy";

export async function costsPage(ctx: Ctx, main: HTMLElement): Promise<void> {
  const month = new URLSearchParams(location.hash.split("?")[1] ?? "").get("month") ?? jstMonth();
  const rep = await loadReport(month, ctx.tenant);
  const lines = usageLines(rep);
  let total = 0n;
  for (const l of lines) total += microyen(l.BilledCost);

  const input = h("input", { type: "month", name: "month", value: month, required: true }) as HTMLInputElement;
  const form = h(
    "form",
    {
      class: "inline",
      onsubmit: (e: Event) => {
        e.preventDefault();
        location.hash = "#/costs?month=" + input.value;
      },
    },
    field(t("month"), input),
    h("button", { type: "submit" }, t("show")),
  );
  const byDay = await costByDay(rep, ctx.tenant);
  main.append(
    h("h1", {}, t("costs.title")),
    form,
    section(
      t("costs.total"),
      h(
        "p",
        { class: "big" },
        h("span", { "data-testid": "cost-total", "data-microyen": total.toString() }, yenText(total)),
        " " + t("costs.yen"),
      ),
      h("p", { class: "muted" }, rep.month + " · " + t(rep.state === "closed" ? "costs.state.closed" : "costs.state.open")),
      h(
        "p",
        { class: "downloads" },
        t("costs.download") + ": ",
        h("a", { href: reportPath(month, ctx.tenant, "csv"), download: `kasumi-${month}.csv`, "data-testid": "dl-csv" }, t("costs.csv")),
        " · ",
        h("a", { href: reportPath(month, ctx.tenant, "xlsx"), download: `kasumi-${month}.xlsx`, "data-testid": "dl-xlsx" }, t("costs.xlsx")),
        " · ",
        h("a", { href: reportPath(month, ctx.tenant, "pdf"), download: `kasumi-${month}.pdf`, "data-testid": "dl-pdf" }, t("costs.pdf")),
      ),
    ),
    h(
      "div",
      { class: "grid2" },
      section(t("costs.byService"), barChart(t("costs.byService"), sumBy(lines, (l) => l.ServiceName ?? "-"), t("costs.yen"))),
      section(t("costs.byProject"), pieChart(t("costs.byProject"), sumBy(lines, (l) => l.x_Project ?? l.SubAccountId ?? "-"), t("costs.yen"))),
    ),
    section(t("costs.byDay"), barChart(t("costs.byDay"), byDay, t("costs.yen"))),
    await fiscalYearSection(month, ctx.tenant),
    table(
      t("costs.title"),
      [t("col.project"), t("col.service"), t("col.meter"), t("col.target"), t("col.quantity"), t("col.cost")],
      lines.map((l) => [l.x_Project, l.ServiceName, l.SkuMeter, l.ResourceId, l.ConsumedQuantity, l.BilledCost]),
      "cost-lines",
    ),
  );
}
