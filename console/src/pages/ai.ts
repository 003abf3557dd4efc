// ai.ts — AI usage in a month: tokens and cost by model, from the billing report's AI lines, and the
// gateway's classification decisions (ai_decisions.ts) and where requests' content went
// (ai_destinations.ts) for the tenant being looked at.
import { barChart } from "../chart";
import { t } from "../i18n";
import type { Ctx } from "../main";
import { field, h, jstMonth, microyen, section, table, yenText } from "../ui";
import { decisionsSection } from "./ai_decisions";
import { destinationsSection } from "./ai_destinations";
import { loadReport, usageLines } from "./costs_data";

function monthForm(month: string): HTMLElement {
  const input = h("input", { type: "month", name: "month", value: month, required: true }) as HTMLInputElement;
  return h(
    "form",
    {
      class: "inline",
      onsubmit: (e: Event) => {
        e.preventDefault();
        location.hash = "#/ai?month=" + input.value;
      },
    },
    field(t("month"), input),
    h("button", { type: "submit" }, t("show")),
  );
}

export async function aiPage(ctx: Ctx, main: HTMLElement): Promise<void> {
  const month = new URLSearchParams(location.hash.split("?")[1] ?? "").get("month") ?? jstMonth();
  const rep = await loadReport(month, ctx.tenant);
  // the report names the gateway's lines by its service name (src/billing/billing_focus.c)
  const lines = usageLines(rep).filter((l) => l.ServiceName === "kasumi AI Gateway");
  // barChart takes micro-units (it draws value / 1e6): tokens are scaled up to fit
  const tokens = new Map<string, bigint>();
  for (const l of lines) {
    const k = l.ResourceId ?? "-";
    tokens.set(k, (tokens.get(k) ?? 0n) + BigInt(Math.round(Number(l.ConsumedQuantity ?? "0"))) * 1000000n);
  }
  main.append(
    h("h1", {}, t("ai.title")),
    monthForm(month),
    ctx.tenant ? await decisionsSection(ctx.tenant, month) : section(t("ai.dec.title"), h("p", { class: "muted" }, t("tenant.choose"))),
    ctx.tenant ? await destinationsSection(ctx.tenant, month) : "",
    section(t("ai.byModel"), barChart(t("ai.byModel"), tokens, "tokens")),
    table(
      t("ai.title"),
      [t("col.project"), t("col.model"), t("col.meter"), t("col.quantity"), t("col.cost")],
      lines.map((l) => [l.x_Project, l.ResourceId, l.SkuMeter, l.ConsumedQuantity, yenText(microyen(l.BilledCost))]),
      "ai-lines",
    ),
  );
}
