// tenants.ts — the platform's tenants (operators): list, create with a 法人番号 whose check digit is
// checked here before the API checks it again, suspend and resume after a confirmation. A tenant's
// own users see their tenant only (GET /admin/v1/tenants shows what the caller may read).
import { ApiError, api, listAll } from "../api";
import { tg } from "../i18n_gov";
import type { Ctx } from "../main";
import { errorBox, field, fmtTime, h, inlineForm, section, table } from "../ui";
import { actButton, reload, statusArea } from "./gov_common";

interface Tenant {
  id: string;
  kind: string;
  name: string;
  corporate_number: string;
  status: string;
  created_at: string;
}

const KINDS = ["ministry", "local_government", "independent_agency", "private_operator"] as const;

/** 法人番号: 13 digits, the first = 9 − (Σ of the other 12, weighted 1,2,1,2… from the right) mod 9. */
export function corpnumValid(s: string): boolean {
  if (!/^[0-9]{13}$/.test(s)) return false;
  let sum = 0;
  for (let i = 1; i <= 12; i++) sum += Number(s[13 - i]) * (i % 2 ? 1 : 2);
  return Number(s[0]) === 9 - (sum % 9);
}

function kindText(k: string): string {
  return (KINDS as readonly string[]).includes(k) ? tg(("kind." + k) as `kind.${(typeof KINDS)[number]}`) : k;
}

function createForm(): HTMLElement {
  const kind = h("select", { name: "kind" }, KINDS.map((k) => h("option", { value: k }, kindText(k)))) as HTMLSelectElement;
  const name = h("input", { type: "text", name: "name", required: true, maxlength: 200 }) as HTMLInputElement;
  const hint = h("span", { id: "cn-hint", class: "muted small" }, tg("tenants.cn.hint"));
  const cn = h("input", {
    id: "tenant-cn", type: "text", name: "corporate_number", required: true, inputmode: "numeric", maxlength: 13,
    autocomplete: "off", "aria-describedby": "cn-hint cn-status",
  }) as HTMLInputElement;
  const status = statusArea();
  status.id = "cn-status";
  const form = inlineForm(
    status,
    async () => {
      const num = cn.value.trim();
      if (!corpnumValid(num)) {
        cn.setAttribute("aria-invalid", "true");
        status.replaceChildren(h("p", { class: "error", role: "alert", "data-testid": "cn-error" }, tg("tenants.cn.invalid")));
        cn.focus();
        return;
      }
      cn.removeAttribute("aria-invalid");
      await api("POST", "/admin/v1/tenants", { kind: kind.value, name: name.value, corporate_number: num });
      reload();
    },
    [
      field(tg("tenants.kind"), kind),
      field(tg("tenants.name"), name),
      h("div", { class: "field" }, h("label", { for: "tenant-cn" }, tg("tenants.cn")), cn, hint),
      h("button", { type: "submit" }, tg("tenants.create")),
    ],
    {
      onError: (err) => {
        // the API's checks said in the form's words: the number (check digit) or a duplicate
        const cnErr = err instanceof ApiError && err.code === "invalid_argument" && /corporate_number/.test(err.message);
        const dup = err instanceof ApiError && err.code === "already_exists";
        status.replaceChildren(errorBox(err, cnErr ? tg("tenants.cn.invalid") : dup ? tg("tenants.cn.taken") : undefined));
      },
    },
  );
  return section(tg("tenants.new"), form, status);
}

export async function tenantsPage(ctx: Ctx, main: HTMLElement): Promise<void> {
  const items = await listAll<Tenant>("/admin/v1/tenants");
  const status = statusArea();
  const operator = !ctx.session.tenant;
  const action = (tn: Tenant) => {
    if (!operator) return null;
    const suspended = tn.status === "suspended";
    return actButton(
      tg(suspended ? "tenants.resume" : "tenants.suspend"),
      tg(suspended ? "tenants.resume" : "tenants.suspend") + " " + tn.name,
      tg(suspended ? "tenants.confirmResume" : "tenants.confirmSuspend", { name: tn.name }),
      status,
      () => api("POST", `/admin/v1/tenants/${tn.id}/${suspended ? "resume" : "suspend"}`),
      !suspended,
    );
  };
  main.append(
    h("h1", {}, tg("tenants.title")),
    ...(operator ? [createForm()] : []),
    status,
    table(
      tg("tenants.title"),
      [tg("col.name"), tg("col.kind"), tg("col.cn"), tg("col.status"), tg("col.id"), tg("col.created"), tg("col.actions")],
      items.map((tn) => [
        tn.name,
        kindText(tn.kind),
        h("code", {}, tn.corporate_number),
        h("span", { class: tn.status === "suspended" ? "warn" : undefined }, tg(tn.status === "suspended" ? "tenants.status.suspended" : "tenants.status.active")),
        h("code", {}, tn.id),
        fmtTime(tn.created_at),
        action(tn),
      ]),
      "tenants",
    ),
  );
}
