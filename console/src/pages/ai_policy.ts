// ai_policy.ts — a project's AI guardrail (GET and PUT /admin/v1/projects/{p}/ai-policy): the default
// classification, whether 機密性2 may go overseas (masked), and for each kind of personal data what
// the gateway does on the way to the model (block, mask, allow) and in what the model writes back
// (mask, allow), the project's own terms masked or blocked, the networks calls may come from, and
// the requests and tokens a minute it allows; then a text checked against it (POST …/ai-policy/check): what a model would get,
// and what a caller would get were a model to write it. A change the operator's mandatory template
// forbids is refused by the API, and the status area says so.
import { api } from "../api";
import { tg, type GovKey } from "../i18n_gov";
import type { Ctx } from "../main";
import { field, h, inlineForm, section, table } from "../ui";
import { projectPicker, statusArea } from "./gov_common";
import { needTenant } from "./need";

const kinds = ["mynumber", "phone", "email", "card", "pension", "passport"] as const;
type Kind = (typeof kinds)[number];
interface Policy {
  default_classification: number;
  class2_overseas: boolean;
  pii: Record<Kind, string>;
  pii_output: Record<Kind, string>;
  terms: { term: string; action: string }[];
  allowed_networks: string[];
  unscanned_content: string;
  project_rpm: number;
  project_tpm: number;
  key_rpm: number;
  key_tpm: number;
}
const limits = ["project_rpm", "project_tpm", "key_rpm", "key_tpm"] as const;
interface Check {
  classification: number;
  decision: string;
  masked: Record<string, number>;
  text: string | null;
  output: { redacted: Record<string, number>; text: string };
}

const kindName = (k: Kind) => tg(("aipol.kind." + k) as GovKey);
const action = (a: string) => tg(("aipol.act." + a) as GovKey);

function choice(label: string, values: string[], value: string): HTMLSelectElement {
  return h("select", { "aria-label": label }, values.map((v) => h("option", { value: v, selected: v === value }, action(v)))) as HTMLSelectElement;
}

/** The policy's form: its selects are read back into the PUT's body when it is saved. */
function policyForm(project: string, p: Policy): HTMLElement {
  const cls = h("select", {}, [1, 2, 3].map((n) => h("option", { value: n, selected: n === p.default_classification }, "機密性" + n))) as HTMLSelectElement;
  const overseas = h("input", { type: "checkbox", checked: p.class2_overseas }) as HTMLInputElement;
  const input = new Map<Kind, HTMLSelectElement>(), output = new Map<Kind, HTMLSelectElement>();
  for (const k of kinds) {
    input.set(k, choice(kindName(k) + " " + tg("aipol.input"), ["block", "mask", "allow"], p.pii[k]));
    output.set(k, choice(kindName(k) + " " + tg("aipol.output"), ["mask", "allow"], p.pii_output[k]));
  }
  // the project's own terms (code names, markings such as 取扱厳重注意), one a line, by action
  const terms = (action: string) =>
    h("textarea", { rows: 3, cols: 40 }, p.terms.filter((x) => x.action === action).map((x) => x.term).join("\n")) as HTMLTextAreaElement;
  const masked = terms("mask"), blocked = terms("block");
  // where calls may come from (IP networks, one a line; none: anywhere)
  const nets = h("textarea", { rows: 3, cols: 40, "data-testid": "ai-networks" }, (p.allowed_networks ?? []).join("\n")) as HTMLTextAreaElement;
  // images, files and audio, which no rule can read: refused, or sent unread to servers in Japan
  const unscanned = h(
    "select",
    { "data-testid": "ai-unscanned" },
    ["refuse", "allow_in_japan"].map((v) => h("option", { value: v, selected: v === (p.unscanned_content ?? "refuse") }, tg(("aipol.unscanned." + v) as GovKey))),
  ) as HTMLSelectElement;
  const limit = new Map(limits.map((k) => [k, h("input", { type: "number", min: 0, step: 1, value: p[k] }) as HTMLInputElement]));
  const status = statusArea();
  const form = inlineForm(
    status,
    async () => {
      const pick = (m: Map<Kind, HTMLSelectElement>) => Object.fromEntries(kinds.map((k) => [k, m.get(k)!.value]));
      const lines = (t: HTMLTextAreaElement, action: string) =>
        t.value.split("\n").map((x) => x.trim()).filter((x) => x).map((term) => ({ term, action }));
      await api("PUT", `/admin/v1/projects/${project}/ai-policy`, {
        default_classification: Number(cls.value), class2_overseas: overseas.checked, pii: pick(input), pii_output: pick(output),
        terms: [...lines(masked, "mask"), ...lines(blocked, "block")],
        allowed_networks: nets.value.split("\n").map((x) => x.trim()).filter((x) => x),
        unscanned_content: unscanned.value,
        ...Object.fromEntries(limits.map((k) => [k, Number(limit.get(k)!.value || 0)])),
      });
      status.replaceChildren(h("p", { class: "ok", role: "status" }, tg("aipol.saved")));
    },
    [
      field(tg("aipol.class"), cls),
      field(tg("aipol.overseas"), overseas),
      table(tg("aipol.kinds"), [tg("aipol.kind"), tg("aipol.input"), tg("aipol.output")],
        kinds.map((k) => [kindName(k), input.get(k)!, output.get(k)!]), "ai-policy"),
      h("div", { class: "row" }, field(tg("aipol.termsMask"), masked), field(tg("aipol.termsBlock"), blocked)),
      field(tg("aipol.networks"), nets),
      field(tg("aipol.unscanned"), unscanned),
      h("div", { class: "row" }, limits.map((k) => field(tg(("aipol." + k) as GovKey), limit.get(k)!))),
      h("button", { type: "submit" }, tg("aipol.save")),
    ],
  );
  form.classList.add("stacked");   /* the kinds' table under the two settings, not beside them */
  return section(tg("aipol.edit"), h("p", { class: "muted" }, tg("aipol.hint")), form, status);
}

function counts(c: Record<string, number>): string {
  const parts = Object.entries(c).filter(([, n]) => n > 0).map(([k, n]) => `${kindName(k as Kind)} ${n}`);
  return parts.length ? parts.join("、") : "-";
}

/** A text checked against the saved policy: nothing is sent to a model or kept. */
function checkForm(project: string): HTMLElement {
  const text = h("textarea", { rows: 3, cols: 60, required: true }) as HTMLTextAreaElement;
  const status = statusArea();
  const result = h("div", { "data-testid": "ai-check" });
  const form = inlineForm(
    status,
    async () => {
      status.replaceChildren();
      const c = await api<Check>("POST", `/admin/v1/projects/${project}/ai-policy/check`, { text: text.value });
      const row = (k: GovKey, v: string, id: string) => [h("dt", {}, tg(k)), h("dd", { "data-testid": id }, v)];
      result.replaceChildren(h("dl", {},
        row("aipol.decision", tg(("aipol.dec." + c.decision) as GovKey) + ` (機密性${c.classification})`, "check-decision"),
        row("aipol.masked", counts(c.masked), "check-masked"),
        row("aipol.toModel", c.text ?? tg("aipol.notSent"), "check-model"),
        row("aipol.toCaller", c.output.text, "check-output"),
      ));
    },
    [field(tg("aipol.text"), text), h("button", { type: "submit" }, tg("aipol.check"))],
  );
  return section(tg("aipol.checkTitle"), h("p", { class: "muted" }, tg("aipol.checkHint")), form, status, result);
}

export async function aiPolicyPage(ctx: Ctx, main: HTMLElement): Promise<void> {
  const tenant = needTenant(ctx, main, tg("aipol.title"));
  if (!tenant) return;
  main.append(h("h1", {}, tg("aipol.title")));
  const at = await projectPicker(main, tenant, "aipolicy", tg("aipol.project"));
  if (!at) return;
  const current = at.project;
  const policy = await api<Policy>("GET", `/admin/v1/projects/${current.id}/ai-policy`);
  main.append(at.picker, policyForm(current.id, policy), checkForm(current.id));
}
