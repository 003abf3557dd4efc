// supply_case.ts — one procurement case: its fields and scope decision, the equipment list, the
// subcontractor chain, the concern list's matches (reviewers only), its history, and the step its
// state allows: the agency imports a list, submits and resolves; a reviewer (a platform-level user)
// takes the case and gives advice. The API decides who may; the page offers each side its steps.
import { ApiError, api, postFile } from "../api";
import { t, type Key } from "../i18n";
import type { Ctx } from "../main";
import { field, fmtTime, h, inlineForm, section, table } from "../ui";
import { reload } from "./gov_common";

export interface Case {
  id: string;
  tenant: string;
  title: string;
  agency: string;
  state: string;
  in_scope: boolean;
  scope: { reasons?: string[] };
  list: string | null;
  created_by: string;
  updated_at: string;
  advice: { result: string; reason: string | null; alternative: string | null; mitigation: string | null; at: string } | null;
}

interface Item {
  seq: number;
  category: string;
  maker: string;
  product: string;
  model: string;
}
interface Entity {
  name: string;
  level_name: string;
  country: string;
  scope: string;
  subcontractors?: Entity[];
}
interface CaseEvent {
  seq: number;
  at: string;
  actor: string;
  action: string;
  from: string | null;
  to: string | null;
}
interface Match {
  subject: { source: string; maker?: string; name?: string; product?: string; model?: string };
  concern_reason?: string;
}

const states: Record<string, Key> = {
  draft: "supply.state.draft",
  submitted: "supply.state.submitted",
  under_review: "supply.state.under_review",
  advised: "supply.state.advised",
  resolved: "supply.state.resolved",
};

export function stateText(s: string): string {
  return states[s] ? t(states[s]) : s;
}

/** GET that answers null for what the caller may not see or that does not exist yet. */
async function maybe<T>(path: string): Promise<T | null> {
  try {
    return await api<T>("GET", path);
  } catch (e) {
    if (e instanceof ApiError && (e.status === 403 || e.status === 404)) return null;
    throw e;
  }
}

function flatten(es: Entity[] = [], out: Entity[] = []): Entity[] {
  for (const e of es) {
    out.push(e);
    flatten(e.subcontractors, out);
  }
  return out;
}

function summary(c: Case): HTMLElement {
  const row = (k: string, v: string | Node) => [h("dt", {}, k), h("dd", {}, v)];
  return h(
    "dl",
    { class: "kv", "data-testid": "supply-case" },
    row(t("supply.case.agency"), c.agency),
    row(t("col.state"), h("span", { "data-testid": "supply-state", "data-state": c.state }, stateText(c.state))),
    row(t("supply.case.scope"), (c.in_scope ? t("supply.inScope") : t("supply.outOfScope")) + " — " + (c.scope.reasons ?? []).join(" / ")),
    row(t("supply.advice"), c.advice ? `${c.advice.result} (${fmtTime(c.advice.at)}) ${c.advice.reason ?? ""}` : "-"),
    row(t("col.modified"), fmtTime(c.updated_at)),
    row(t("col.id"), h("code", {}, c.id)),
  );
}

/** A form whose submit runs act, then reloads the case (or shows the error). */
function step(label: string, testid: string, act: () => Promise<unknown>, ...fields: HTMLElement[]): HTMLElement {
  const status = h("div", { "aria-live": "polite" });
  return inlineForm(
    status,
    async () => {
      await act();
      reload();
    },
    [
      ...fields,
      h("button", { type: "submit" }, label),
      status,
    ],
    {
      testid: testid,
    },
  );
}

function agencySteps(c: Case): HTMLElement[] {
  const base = `/admin/v1/supply-cases/${c.id}`;
  const out: HTMLElement[] = [];
  if (c.state !== "submitted" && c.state !== "resolved") {
    const file = h("input", { type: "file", name: "list", accept: ".csv,.xlsx,.json", required: true }) as HTMLInputElement;
    out.push(step(t("supply.import"), "supply-import", () => postFile(base + "/lists", file.files![0]), field(t("supply.listFile"), file)));
  }
  if (c.state === "draft") out.push(step(t("supply.submit"), "supply-submit", () => api("POST", base + "/submit")));
  if (c.state === "advised") {
    const measures = h("input", { type: "text", name: "measures", autocomplete: "off" }) as HTMLInputElement;
    out.push(
      step(
        t("supply.resolve"),
        "supply-resolve",
        () => api("POST", base + "/resolve", measures.value.trim() ? { measures: measures.value.trim() } : {}),
        field(t("supply.measures"), measures),
      ),
    );
  }
  return out;
}

function reviewerSteps(c: Case): HTMLElement[] {
  const base = `/admin/v1/supply-cases/${c.id}`;
  if (c.state === "submitted") return [step(t("supply.review"), "supply-review", () => api("POST", base + "/review"))];
  if (c.state !== "under_review") return [];
  const concern = h("input", { type: "checkbox", name: "concern" }) as HTMLInputElement;
  const reason = h("input", { type: "text", name: "reason", autocomplete: "off" }) as HTMLInputElement;
  const alternative = h("input", { type: "text", name: "alternative", autocomplete: "off" }) as HTMLInputElement;
  const mitigation = h("input", { type: "text", name: "mitigation", autocomplete: "off" }) as HTMLInputElement;
  const body = () => {
    if (!concern.checked) return { concern: false };
    const b: Record<string, unknown> = { concern: true, reason: reason.value.trim() };
    if (alternative.value.trim()) b.alternative = alternative.value.trim();
    if (mitigation.value.trim()) b.mitigation = mitigation.value.trim();
    return b;
  };
  return [
    step(
      t("supply.advise"),
      "supply-advice",
      () => api("POST", base + "/advice", body()),
      field(t("supply.concern"), concern),
      field(t("supply.reason"), reason),
      field(t("supply.alternative"), alternative),
      field(t("supply.mitigation"), mitigation),
    ),
  ];
}

export async function caseDetail(ctx: Ctx, main: HTMLElement, id: string): Promise<void> {
  const base = `/admin/v1/supply-cases/${id}`;
  const c = await api<Case>("GET", base);
  const [list, chain, events, concerns] = await Promise.all([
    c.list ? maybe<{ items: Item[] }>(base + "/list?format=json") : Promise.resolve(null),
    maybe<{ contractors: Entity[] }>(base + "/chain"),
    api<{ items: CaseEvent[] }>("GET", base + "/events"),
    ctx.session.tenant ? Promise.resolve(null) : maybe<{ matches: Match[] }>(base + "/concerns"),
  ]);
  const steps = [...(ctx.session.tenant || ctx.tenant ? agencySteps(c) : []), ...(ctx.session.tenant ? [] : reviewerSteps(c))];
  main.append(
    h("p", {}, h("a", { href: "#/supply" }, t("supply.back"))),
    h("h1", {}, c.title),
    section(t("supply.case"), summary(c)),
    steps.length ? section(t("supply.actions"), ...steps) : "",
    section(
      t("supply.list"),
      table(
        t("supply.list"),
        ["#", t("supply.category"), t("supply.maker"), t("supply.product"), t("supply.model")],
        (list?.items ?? []).map((i) => [i.seq, i.category, i.maker, i.product, i.model]),
        "supply-list",
      ),
    ),
    section(
      t("supply.chain"),
      table(
        t("supply.chain"),
        [t("supply.level"), t("col.name"), t("supply.country"), t("supply.work")],
        flatten(chain?.contractors).map((e) => [e.level_name, e.name, e.country, e.scope]),
        "supply-chain",
      ),
    ),
    concerns
      ? section(
          t("supply.concerns"),
          table(
            t("supply.concerns"),
            [t("supply.source"), t("supply.maker"), t("supply.product"), t("supply.reason")],
            concerns.matches.map((m) => [m.subject.source, m.subject.maker ?? m.subject.name ?? "", m.subject.product ?? m.subject.model ?? "", m.concern_reason ?? ""]),
            "supply-concerns",
          ),
        )
      : "",
    section(
      t("supply.events"),
      table(
        t("supply.events"),
        [t("col.time"), t("col.principal"), t("col.action"), t("supply.from"), t("supply.to")],
        events.items.map((e) => [fmtTime(e.at), e.actor, e.action, e.from ? stateText(e.from) : "", e.to ? stateText(e.to) : ""]),
        "supply-events",
      ),
    ),
  );
}
