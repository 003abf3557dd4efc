// ai_routes.ts — a project's model routes (GET, POST, DELETE /admin/v1/projects/{p}/model-routes):
// each alias with its targets in the order they are tried — provider, server, model, where it runs,
// weight, time-out, the calls in flight above which the next target takes over — and how each
// target has been answering (its health: in service, set aside after failing in a row and until
// when, being probed, not known yet, or not tracked as a route's only target); a route made with its
// first target, and a route deleted after a confirmation. More targets: the CLI's
// `model-route add-target` or the API's PATCH.
import { api, listAll } from "../api";
import { tg, type GovKey } from "../i18n_gov";
import type { Ctx } from "../main";
import { field, fmtTime, h, inlineForm, section, table } from "../ui";
import { actButton, projectPicker, reload, statusArea } from "./gov_common";
import { needTenant } from "./need";

interface Health {
  state: string;
  consecutive_failures?: number;
  ejections?: number;
  ejected_until?: string;
  last_failure?: string;
}
interface Target {
  provider: string;
  base_url: string;
  model?: string;
  jurisdiction: string;
  weight: number;
  timeout_ms: number;
  max_concurrent?: number;
  health?: Health;
}
interface Route {
  id: string;
  alias: string;
  targets: Target[];
}

/** The health cell: the state in words, and what an operator asks next (until when, since when). */
function healthCell(x: Health | undefined): HTMLElement {
  const state = x?.state ?? "unknown";
  const detail: string[] = [];
  if (state === "ejected" && x?.ejected_until) detail.push(tg("routes.until", { time: fmtTime(x.ejected_until) }));
  if (x?.consecutive_failures) detail.push(tg("routes.failures", { n: String(x.consecutive_failures) }));
  if (x?.last_failure) detail.push(tg("routes.lastFailure", { time: fmtTime(x.last_failure) }));
  return h("span", { "data-testid": "target-health", "data-state": state },
    h("span", { class: state === "healthy" ? "ok" : state === "unknown" || state === "untracked" ? "muted" : "warn" },
      tg(("routes.state." + state) as GovKey)),
    detail.length ? h("span", { class: "muted" }, " (" + detail.join("、") + ")") : null);
}

function routeCard(r: Route): HTMLElement {
  const status = statusArea();
  const rows = r.targets.map((t, i) => [
    String(i + 1), t.provider, h("code", {}, t.base_url), t.model || r.alias, t.jurisdiction,
    String(t.weight), `${t.timeout_ms / 1000} s`, t.max_concurrent ? String(t.max_concurrent) : "-", healthCell(t.health),
  ]);
  return h(
    "section",
    { class: "card", "data-testid": "route", "data-alias": r.alias, "aria-labelledby": "r-" + r.id },
    h("h2", { id: "r-" + r.id }, r.alias, " ", h("code", { class: "muted" }, r.id)),
    table(tg("routes.targets", { alias: r.alias }),
      [tg("routes.order"), tg("routes.provider"), tg("routes.baseUrl"), tg("routes.model"), tg("routes.jurisdiction"),
        tg("routes.weight"), tg("routes.timeout"), tg("routes.maxConcurrent"), tg("routes.health")], rows, "route-targets"),
    status,
    actButton(tg("routes.delete"), tg("routes.delete") + " " + r.alias, tg("routes.confirmDelete", { alias: r.alias }),
      status, () => api("DELETE", `/admin/v1/model-routes/${r.id}`)),
  );
}

function createForm(project: string): HTMLElement {
  const input = (name: string, attrs: Record<string, unknown> = {}) =>
    h("input", { type: "text", name, ...attrs }) as HTMLInputElement;
  const alias = input("alias", { required: true, maxlength: 127 });
  const provider = h("select", { name: "provider" }, ["openai", "anthropic"].map((p) => h("option", { value: p }, p))) as HTMLSelectElement;
  const url = input("base_url", { type: "url", required: true, placeholder: "https://llm.example.go.jp/v1" });
  const model = input("model", { maxlength: 127 });
  const where = input("jurisdiction", { required: true, value: "JP", maxlength: 2, size: 3 });
  const cred = input("credential_ref", { placeholder: "/etc/kasumi/llm.key" });
  const timeout = h("input", { type: "number", name: "timeout_ms", min: 100, max: 600000, step: 100, value: 60000 }) as HTMLInputElement;
  const slots = h("input", { type: "number", name: "max_concurrent", min: 0, max: 100000, step: 1, value: 0 }) as HTMLInputElement;
  const status = statusArea();
  const form = inlineForm(
    status,
    async () => {
      const target: Record<string, unknown> = {
        provider: provider.value, base_url: url.value, jurisdiction: where.value.trim().toUpperCase(),
        timeout_ms: Number(timeout.value || 60000), max_concurrent: Number(slots.value || 0),
      };
      if (model.value.trim()) target.model = model.value.trim();
      if (cred.value.trim()) target.credential_ref = cred.value.trim();
      await api("POST", `/admin/v1/projects/${project}/model-routes`, { alias: alias.value.trim(), targets: [target] });
      reload();
    },
    [
      field(tg("routes.alias"), alias), field(tg("routes.provider"), provider), field(tg("routes.baseUrl"), url),
      field(tg("routes.model"), model), field(tg("routes.jurisdiction"), where), field(tg("routes.credential"), cred),
      field(tg("routes.timeoutMs"), timeout), field(tg("routes.maxConcurrentField"), slots),
      h("button", { type: "submit" }, tg("routes.create")),
    ],
  );
  return section(tg("routes.new"), h("p", { class: "muted" }, tg("routes.newHint")), form, status);
}

export async function aiRoutesPage(ctx: Ctx, main: HTMLElement): Promise<void> {
  const tenant = needTenant(ctx, main, tg("routes.title"));
  if (!tenant) return;
  main.append(h("h1", {}, tg("routes.title")));
  const at = await projectPicker(main, tenant, "airoutes", tg("routes.project"));
  if (!at) return;
  const current = at.project;
  const routes = await listAll<Route>(`/admin/v1/projects/${current.id}/model-routes`);
  main.append(
    at.picker,
    h("p", { class: "muted" }, tg("routes.hint")),
    ...(routes.length ? routes.map(routeCard) : [h("p", { class: "muted" }, tg("routes.none"))]),
    createForm(current.id),
  );
}
