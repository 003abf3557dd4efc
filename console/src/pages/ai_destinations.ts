// ai_destinations.ts — the AI page's "where the content went" (GET /admin/v1/ai/destinations): how
// many requests were sent to model servers in each country or region, by classification level
// (機密性1/2/3), and how many left Japan — counted from each request's own record in the audit log,
// so it is the log's evidence of where data went, not a restatement of the policy.
import { api, qs } from "../api";
import { t } from "../i18n";
import { h, section, table } from "../ui";
import type { Period } from "./ai_decisions";

interface Place {
  requests: number;
  by_classification: Record<string, number>;
}

interface Destinations {
  total: Place;
  abroad: Place;
  by_jurisdiction: Record<string, Place>;
}

/** "日本 (JP)": the region's name in the page's language where the browser knows it. */
function regionName(code: string): string {
  try {
    const names = new Intl.DisplayNames([document.documentElement.lang || "ja"], { type: "region" });
    const name = names.of(code);
    return name && name !== code ? `${name} (${code})` : code;
  } catch {
    return code;
  }
}

const levels = ["1", "2", "3"];

export async function destinationsSection(tenant: string | null, [since, until]: Period): Promise<HTMLElement> {
  const d = await api<Destinations>("GET", "/admin/v1/ai/destinations" + qs({ tenant, since, until }));
  // Japan first, then the others by their code
  const codes = Object.keys(d.by_jurisdiction).sort((a, b) => (a === "JP" ? -1 : b === "JP" ? 1 : a.localeCompare(b)));
  const abroad3 = d.abroad.by_classification["3"] ?? 0;
  return section(
    t("ai.dest.title"),
    h("p", { class: "muted" }, t("ai.dest.lead")),
    h(
      "p",
      { "data-testid": "ai-destinations-abroad", "data-counts": JSON.stringify(d.abroad) },
      t("ai.dest.summary", {
        requests: d.total.requests,
        abroad: d.abroad.requests,
        c1: d.abroad.by_classification["1"] ?? 0,
        c2: d.abroad.by_classification["2"] ?? 0,
        c3: abroad3,
      }),
    ),
    abroad3 ? h("p", { class: "error", "data-testid": "ai-destinations-class3-abroad" }, t("ai.dest.class3", { n: abroad3 })) : "",
    h(
      "p",
      { class: "downloads" },
      h("a", { href: "/admin/v1/ai/destinations" + qs({ tenant, since, until, format: "csv" }), download: "kasumi-ai-destinations.csv", "data-testid": "dl-ai-destinations" }, t("ai.csv")),
    ),
    table(
      t("ai.dest.title"),
      [t("ai.dest.where"), t("ai.dec.requests"), ...levels.map((n) => t("ai.dec.level", { n }))],
      codes.map((c) => [regionName(c), d.by_jurisdiction[c].requests, ...levels.map((n) => d.by_jurisdiction[c].by_classification[n] ?? 0)]),
      "ai-destinations",
    ),
  );
}
