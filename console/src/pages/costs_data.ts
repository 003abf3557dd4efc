// costs_data.ts — the monthly report's usage lines summed by service, project and resource, in
// integer micro-yen (the API's money is decimal text; a double would drift).
import { api, listAll, qs } from "../api";
import { microyen } from "../ui";

export interface ReportLine {
  ChargeCategory: string;
  BilledCost: string | null;
  ServiceName: string | null;
  SubAccountId: string | null;
  x_Project: string | null;
  ResourceId: string | null;
  SkuMeter: string | null;
  ConsumedQuantity: string | null;
}
export interface Invoice {
  tenant: string;
  tenant_name: string;
  usage_subtotal: string;
  amount_excluding_tax: string;
  consumption_tax: string;
  amount_including_tax: string;
  lines: ReportLine[];
}
export interface Report {
  month: string;
  state: string;
  period_start: string;
  period_end: string;
  invoices: Invoice[];
}

export function reportPath(month: string, tenant: string | null, format = "json"): string {
  return "/admin/v1/billing/report" + qs({ month, tenant, format: format === "json" ? null : format });
}

export function loadReport(month: string, tenant: string | null): Promise<Report> {
  return api<Report>("GET", reportPath(month, tenant));
}

export function usageLines(rep: Report): ReportLine[] {
  return rep.invoices.flatMap((i) => i.lines.filter((l) => l.ChargeCategory === "Usage"));
}

export function sumBy(lines: ReportLine[], key: (l: ReportLine) => string): Map<string, bigint> {
  const m = new Map<string, bigint>();
  for (const l of lines) m.set(key(l), (m.get(key(l)) ?? 0n) + microyen(l.BilledCost));
  return m;
}

/** Cost per JST day of the month from the usage records (the report has no days). */
export async function costByDay(rep: Report, tenant: string | null): Promise<Map<string, bigint>> {
  const items = await listAll<{ time: string; cost_microyen: number }>(
    "/admin/v1/usage" + qs({ tenant, since: rep.period_start, until: rep.period_end }),
  );
  const m = new Map<string, bigint>();
  for (const it of items) {
    const day = new Date(new Date(it.time).getTime() + 9 * 3600 * 1000).toISOString().slice(0, 10);
    m.set(day, (m.get(day) ?? 0n) + BigInt(it.cost_microyen ?? 0));
  }
  return m;
}
