// ai.ts — AI usage in a month: tokens and cost by model, from the billing report's AI lines, and the
// gateway's classification decisions (ai_decisions.ts) and where requests' content went
// (ai_destinations.ts) for the tenant being looked at. The decisions and destinations can also be
// seen for a fiscal year (年度, April to March: what an audit covers); tokens and cost stay monthly.
import { ApiError } from "../api";
import { barChart } from "../chart";
import { t } from "../i18n";
import type { Ctx } from "../main";
import { field, h, jstMonth, microyen, section, table, yenText } from "../ui";
import { decisionsSection, jstFiscalYearRange, jstMonthRange, type Period } from "./ai_decisions";
import { destinationsSection } from "./ai_destinations";
import { loadReport, usageLines } from "./costs_data";
import { fiscalYearOf } from "./costs_fy";

function periodForm(param: "month" | "fy", label: string, input: HTMLInputElement): HTMLElement {
  return h(
    "form",
    {
      class: "inline",
      onsubmit: (e: Event) => {
        e.preventDefault();
        location.hash = `#/ai?${param}=` + input.value;
      },
    },
    field(label, input),
    h("button", { type: "submit" }, t("show")),
  );
}

/** A refusal for want of the right to read (403) as null; anything else is thrown on. */
function forbiddenAsNull(err: unknown): null {
  if (err instanceof ApiError && err.status === 403) return null;
  throw err;
}

/** The decisions and where content went, in a period, for the tenant being looked at — or, with no
 * tenant chosen, every tenant's, for whoever may read usage at platform scope (the operator asking
 * whether any 機密性3 request left Japan anywhere); anyone else is asked to choose a tenant, and
 * one who may not read the tenant's usage is told so instead of an error. */
async function governance(ctx: Ctx, period: Period): Promise<(HTMLElement | string)[]> {
  const got = await Promise.all([decisionsSection(ctx.tenant, period), destinationsSection(ctx.tenant, period)]).catch(forbiddenAsNull);
  // no usage.read there: the platform's (choose a tenant), or the tenant's (said so, not an error)
  return got ?? [section(t("ai.dec.title"), h("p", { class: "muted", "data-testid": "ai-no-access" }, t(ctx.tenant ? "ai.dec.noAccess" : "tenant.choose")))];
}

export async function aiPage(ctx: Ctx, main: HTMLElement): Promise<void> {
  const params = new URLSearchParams(location.hash.split("?")[1] ?? "");
  const fyParam = params.get("fy");
  const month = params.get("month") ?? jstMonth();
  const fy = fyParam && /^\d{4}$/.test(fyParam) ? Number(fyParam) : null;
  const monthInput = h("input", { type: "month", name: "month", value: month, required: true }) as HTMLInputElement;
  const fyInput = h("input", {
    type: "number", name: "fy", min: "2000", max: "2100", required: true,
    value: String(fy ?? fiscalYearOf(month)),
  }) as HTMLInputElement;
  const forms = h("div", {}, periodForm("month", t("month"), monthInput), periodForm("fy", t("ai.fy"), fyInput));
  if (fy !== null) {
    const period = jstFiscalYearRange(fy);
    main.append(
      h("h1", {}, t("ai.title")),
      forms,
      h("p", { "data-testid": "ai-period", "data-since": period[0], "data-until": period[1] },
        t("ai.fy.period", { fy, next: fy + 1 })),
      ...(await governance(ctx, period)),
      h("p", { class: "muted" }, t("ai.fy.costs")),
    );
    return;
  }
  const rep = await loadReport(month, ctx.tenant).catch(forbiddenAsNull);
  // the report names the gateway's lines by its service name (src/billing/billing_focus.c)
  const lines = rep ? usageLines(rep).filter((l) => l.ServiceName === "kasumi AI Gateway") : [];
  // barChart takes micro-units (it draws value / 1e6): tokens are scaled up to fit
  const tokens = new Map<string, bigint>();
  for (const l of lines) {
    const k = l.ResourceId ?? "-";
    tokens.set(k, (tokens.get(k) ?? 0n) + BigInt(Math.round(Number(l.ConsumedQuantity ?? "0"))) * 1000000n);
  }
  const period = jstMonthRange(month);
  // tokens and cost: the billing report's, where the caller may read it
  const usage = rep
    ? [
        section(t("ai.byModel"), barChart(t("ai.byModel"), tokens, "tokens")),
        table(
          t("ai.title"),
          [t("col.project"), t("col.model"), t("col.meter"), t("col.quantity"), t("col.cost")],
          lines.map((l) => [l.x_Project, l.ResourceId, l.SkuMeter, l.ConsumedQuantity, yenText(microyen(l.BilledCost))]),
          "ai-lines",
        ),
      ]
    : [];
  main.append(h("h1", {}, t("ai.title")), forms, ...(await governance(ctx, period)), ...usage);
}
