// budgets.ts — each project's monthly budget (whole yen, JST month) and alert thresholds, this
// month's spend against it, a form to set it and a button to remove it; the budgets of one project's
// API keys (a key's own cap inside the project) with what each key spent this month; then the
// tenant's cost-saving recommendations with their estimated monthly saving. Money stays integer micro-yen (BigInt), as on the cost page.
import { api, listAll } from "../api";
import { tg } from "../i18n_gov";
import type { Ctx } from "../main";
import { errorBox, field, h, inlineForm, microyen, section, table, yenText } from "../ui";
import { t } from "../i18n";
import { actButton, projectChoice, reload, statusArea } from "./gov_common";
import { needTenant } from "./need";

interface Budget {
  project: string;
  month: string;
  monthly_yen: number | null;
  alert_thresholds: number[];
  spent_microyen: number;
  alerts_crossed: number[];
}
interface Reco {
  kind: string;
  project: string | null;
  resource: string;
  reason: string;
  estimated_monthly_saving_yen: string;
}
type Row = { id: string; name: string; b: Budget | null };
interface KeyUse {
  key: string;
  name: string | null;
  user: string | null;
  status: string;
  monthly_yen: number | null;
  spent_microyen: number;
  requests: number;
  models: string[] | null;
  rpm: number | null;
  tpm: number | null;
}
interface ApiKey { id: string; name: string | null; kind: string; project: string | null; status: string }

/** "50, 80,100" → [50, 80, 100], or null when not ascending integers 1..1000. */
export function parseThresholds(s: string): number[] | null {
  const parts = s.split(",").map((x) => x.trim()).filter((x) => x !== "");
  const v = parts.map((x) => (/^[0-9]{1,4}$/.test(x) ? Number(x) : NaN));
  if (v.length > 8 || v.some((x, i) => !(x >= 1 && x <= 1000) || (i > 0 && x <= v[i - 1]))) return null;
  return v;
}

/** The thresholds of an input, or null with the input marked and the reason in status. */
function readThresholds(input: HTMLInputElement, status: HTMLElement): number[] | null {
  const v = parseThresholds(input.value);
  if (!v) {
    input.setAttribute("aria-invalid", "true");
    status.replaceChildren(h("p", { class: "error", role: "alert" }, tg("budgets.badThresholds")));
    return null;
  }
  input.removeAttribute("aria-invalid");
  return v;
}

/** The share of the budget spent, in tenths of a percent (integers: no rounding surprises). */
function usePermille(b: Budget): number | null {
  if (!b.monthly_yen) return null;
  return Number((BigInt(b.spent_microyen) * 1000n) / (BigInt(b.monthly_yen) * 1000000n));
}

function editForm(rows: Row[]): HTMLElement {
  const project = h("select", { name: "project" }, rows.map((r) => h("option", { value: r.id }, r.name))) as HTMLSelectElement;
  const yen = h("input", { type: "number", name: "monthly_yen", min: 0, step: 1, required: true }) as HTMLInputElement;
  const th = h("input", { type: "text", name: "alert_thresholds", value: "50,80,100" }) as HTMLInputElement;
  const status = statusArea();
  const fill = () => {
    const b = rows.find((r) => r.id === project.value)?.b;
    yen.value = b?.monthly_yen != null ? String(b.monthly_yen) : "";
    th.value = (b?.alert_thresholds ?? [50, 80, 100]).join(",");
  };
  project.addEventListener("change", fill);
  fill();
  const form = inlineForm(
    status,
    async () => {
      const thresholds = readThresholds(th, status);
      if (!thresholds) return;
      await api("PUT", `/admin/v1/projects/${project.value}/budget`, {
        monthly_yen: Number(yen.value), alert_thresholds: thresholds,
      });
      reload();
    },
    [
      field(tg("budgets.project"), project),
      field(tg("budgets.yen"), yen),
      field(tg("budgets.thresholds"), th),
      h("button", { type: "submit" }, tg("budgets.save")),
    ],
  );
  return section(tg("budgets.edit"), form, status);
}

// no budget is no limit, so removing one asks first, naming the project
function removeButton(id: string, name: string, status: HTMLElement): HTMLElement {
  return actButton(tg("budgets.remove"), tg("budgets.remove") + " " + name, tg("budgets.confirmRemove", { project: name }), status, () =>
    api("DELETE", `/admin/v1/projects/${id}/budget`),
  );
}

function budgetTable(rows: Row[], status: HTMLElement): HTMLElement {
  return table(
    tg("budgets.list"),
    [tg("col.project"), tg("col.budget"), tg("col.thresholds"), tg("col.spent"), tg("col.use"), tg("col.crossed"), t("col.actions")],
    rows.map(({ id, name, b }) => {
      if (!b) return [name, tg("budgets.denied"), "-", "-", "-", "-", "-"];
      const pm = usePermille(b);
      const pct = pm === null ? "" : Math.floor(pm / 10) + "." + (pm % 10) + "%";
      return [
        name,
        b.monthly_yen === null ? tg("budgets.none") : b.monthly_yen.toLocaleString("en-US"),
        b.alert_thresholds.join(", "),
        yenText(BigInt(b.spent_microyen)),
        pm === null
          ? "-"
          : h("span", { class: "row" }, h("meter", { min: 0, max: 1000, value: Math.min(pm, 1000), "aria-label": name }), pct),
        b.alerts_crossed.length ? h("span", { class: "warn" }, b.alerts_crossed.map((x) => x + "%").join(", ")) : "-",
        b.monthly_yen === null ? "-" : removeButton(id, name, status),
      ];
    }),
    "budgets",
  );
}

const keyLabel = (name: string | null, id: string) => (name ? `${name} (${id})` : id);

const keySelect = (keys: ApiKey[], label: string) =>
  h("select", { name: "key", "aria-label": label }, keys.map((k) => h("option", { value: k.id }, keyLabel(k.name, k.id)))) as HTMLSelectElement;

/** The form that sets a key's cap and its alerts: the tenant's active API keys that may act in the project. */
function keyBudgetForm(project: string, keys: ApiKey[], status: HTMLElement): HTMLElement {
  if (!keys.length) return h("p", { class: "muted" }, tg("kb.noKeys"));
  const key = keySelect(keys, tg("kb.key"));
  const yen = h("input", { type: "number", name: "key_monthly_yen", min: 0, step: 1, required: true }) as HTMLInputElement;
  const th = h("input", { type: "text", name: "key_thresholds", value: "50,80,100", inputmode: "numeric" }) as HTMLInputElement;
  return inlineForm(
    status,
    async () => {
      const thresholds = readThresholds(th, status);
      if (!thresholds) return;
      await api("PUT", `/admin/v1/projects/${project}/keys/${key.value}/budget`, { monthly_yen: Number(yen.value), alert_thresholds: thresholds });
      reload();
    },
    [field(tg("kb.key"), key), field(tg("kb.yen"), yen), field(tg("kb.thresholds"), th), h("button", { type: "submit" }, tg("kb.save"))],
  );
}

/** The form that sets a key's own requests and tokens a minute (empty: the project's per-key quota). */
function keyRatesForm(project: string, keys: ApiKey[], status: HTMLElement): HTMLElement | string {
  if (!keys.length) return "";
  const key = keySelect(keys, tg("kr.key"));
  const num = (name: string) => h("input", { type: "number", name, min: 0, step: 1 }) as HTMLInputElement;
  const rpm = num("key_rpm"), tpm = num("key_tpm");
  const value = (i: HTMLInputElement) => (i.value.trim() === "" ? null : Number(i.value));
  return inlineForm(
    status,
    async () => {
      if (value(rpm) === null && value(tpm) === null) {
        await api("DELETE", `/admin/v1/projects/${project}/keys/${key.value}/rate-limits`);
      } else {
        await api("PUT", `/admin/v1/projects/${project}/keys/${key.value}/rate-limits`, { rpm: value(rpm), tpm: value(tpm) });
      }
      reload();
    },
    [field(tg("kr.key"), key), field(tg("kr.rpm"), rpm), field(tg("kr.tpm"), tpm), h("button", { type: "submit" }, tg("kr.save"))],
  );
}

/** "30 / 20,000", each the key's own or the project's (null). */
const rates = (k: KeyUse) =>
  [k.rpm, k.tpm].map((v) => (v === null || v === undefined ? tg("kr.projects") : v === 0 ? tg("kr.none") : v.toLocaleString("en-US"))).join(" / ");

function keyTable(project: string, items: KeyUse[], status: HTMLElement): HTMLElement {
  return table(
    tg("kb.list"),
    [tg("col.key"), t("col.user"), tg("col.keyStatus"), tg("col.budget"), tg("col.spent"), tg("col.requests"), tg("col.keyModels"), tg("col.keyRates"), t("col.actions")],
    items.map((k) => [
      keyLabel(k.name, k.key),
      k.user ?? "-",
      k.status,
      k.monthly_yen === null ? tg("budgets.none") : k.monthly_yen.toLocaleString("en-US"),
      yenText(BigInt(k.spent_microyen)),
      k.requests.toLocaleString("en-US"),
      k.models === null ? tg("kb.allModels") : k.models.length ? k.models.join(", ") : tg("kb.noModels"),
      rates(k),
      k.monthly_yen === null
        ? "-"
        : actButton(tg("kb.remove"), tg("kb.remove") + " " + keyLabel(k.name, k.key), tg("kb.confirmRemove", { key: keyLabel(k.name, k.key) }),
            status, () => api("DELETE", `/admin/v1/projects/${project}/keys/${k.key}/budget`)),
    ]),
    "key-budgets",
  );
}

/** One project's keys (the project the URL names, #/budgets?project=, else the first). */
async function keyBudgets(tenant: string, projects: { id: string; name: string }[]): Promise<HTMLElement | null> {
  if (!projects.length) return null;
  const { project, picker } = projectChoice(projects, "budgets", tg("kb.project"));
  const status = statusArea();
  const head = [h("p", { class: "muted" }, tg("kb.intro")), picker];
  try {
    const [list, keys] = await Promise.all([
      api<{ items: KeyUse[] }>("GET", `/admin/v1/projects/${project.id}/key-budgets`),
      listAll<ApiKey>(`/admin/v1/keys?tenant=${tenant}`),
    ]);
    const usable = keys.filter((k) => k.kind === "api" && k.status === "active" && (!k.project || k.project === project.id));
    return section(tg("kb.title"), ...head, keyBudgetForm(project.id, usable, status), keyRatesForm(project.id, usable, status),
      keyTable(project.id, list.items, status), status);
  } catch (err) {
    return section(tg("kb.title"), ...head, errorBox(err));
  }
}

async function recommendations(tenant: string, names: Map<string, string>): Promise<HTMLElement> {
  try {
    const r = await api<{ items: Reco[]; estimated_monthly_saving_microyen: number }>(
      "GET", `/admin/v1/billing/recommendations?tenant=${tenant}`,
    );
    const total = r.items.reduce((s, x) => s + microyen(x.estimated_monthly_saving_yen), 0n);
    const kind = (k: string) =>
      ["idle_bucket", "unused_key", "incomplete_multipart_upload", "cheaper_model"].includes(k) ? tg(("reco." + k) as "reco.idle_bucket") : k;
    return section(
      tg("reco.title"),
      h("p", { "data-testid": "reco-total", "data-microyen": total.toString() }, tg("reco.total", { yen: yenText(total) })),
      table(
        tg("reco.title"),
        [tg("col.reco"), tg("col.project"), tg("col.resource"), tg("col.reason"), tg("col.saving")],
        r.items.map((x) => [kind(x.kind), x.project ? names.get(x.project) ?? x.project : "-", h("code", {}, x.resource), x.reason,
          yenText(microyen(x.estimated_monthly_saving_yen))]),
        "recommendations",
      ),
    );
  } catch (err) {
    return section(tg("reco.title"), errorBox(err));
  }
}

export async function budgetsPage(ctx: Ctx, main: HTMLElement): Promise<void> {
  const tenant = needTenant(ctx, main, tg("budgets.title"));
  if (!tenant) return;
  const projects = await listAll<{ id: string; name: string }>(`/admin/v1/tenants/${tenant}/projects`);
  const rows: Row[] = await Promise.all(
    projects.map(async (p) => ({
      id: p.id,
      name: p.name,
      b: await api<Budget>("GET", `/admin/v1/projects/${p.id}/budget`).catch(() => null),
    })),
  );
  const status = statusArea();
  main.append(
    h("h1", {}, tg("budgets.title")),
    ...(rows.length ? [editForm(rows)] : []),
    budgetTable(rows, status),
    status,
    ...[await keyBudgets(tenant, projects)].filter((x): x is HTMLElement => x !== null),
    await recommendations(tenant, new Map(projects.map((p) => [p.id, p.name]))),
  );
}
