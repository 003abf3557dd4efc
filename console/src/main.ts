// main.ts — the console's shell: who is signed in, the tenant being looked at, the menu, and a
// router on the URL's hash (#/costs) so that kasumid serves one page for everything.
import "./style.css";
import { ApiError, api, loadSession, type Session } from "./api";
import { getLang, setLang, t, type Key } from "./i18n";
import { errorBox, h } from "./ui";
import { signinPage } from "./pages/signin";
import { homePage } from "./pages/home";
import { costsPage } from "./pages/costs";
import { auditPage } from "./pages/audit";
import { projectsPage } from "./pages/projects";
import { usersPage } from "./pages/users";
import { keysPage } from "./pages/keys";
import { storagePage } from "./pages/storage";
import { aiPage } from "./pages/ai";
import { supplyPage } from "./pages/supply";
import { tenantsPage } from "./pages/tenants";
import { groupsPage } from "./pages/groups";
import { bindingsPage } from "./pages/bindings";
import { ssomapPage } from "./pages/ssomap";
import { budgetsPage } from "./pages/budgets";
import { aiPolicyPage } from "./pages/ai_policy";
import { aiRoutesPage } from "./pages/ai_routes";
import { tg, type GovKey } from "./i18n_gov";

export interface Ctx {
  session: Session;
  tenant: string | null; // the tenant the pages show; null: platform-wide (operators)
  tenants: { id: string; name: string }[];
}

type Page = (ctx: Ctx, main: HTMLElement) => Promise<void>;
const pages: [string, Key, Page][] = [
  ["home", "nav.home", homePage],
  ["costs", "nav.costs", costsPage],
  ["ai", "nav.ai", aiPage],
  ["storage", "nav.storage", storagePage],
  ["audit", "nav.audit", auditPage],
  ["projects", "nav.projects", projectsPage],
  ["users", "nav.users", usersPage],
  ["keys", "nav.keys", keysPage],
  ["supply", "nav.supply", supplyPage],
];
// The identity and governance pages, a section of their own in the menu (their titles are
// i18n_gov.ts's words).
const govPages: [string, GovKey, Page][] = [
  ["tenants", "tenants.title", tenantsPage],
  ["groups", "groups.title", groupsPage],
  ["bindings", "bindings.title", bindingsPage],
  ["ssomap", "sso.title", ssomapPage],
  ["budgets", "budgets.title", budgetsPage],
  ["aipolicy", "aipol.title", aiPolicyPage],
  ["airoutes", "routes.title", aiRoutesPage],
];
const allPages = (): [string, string, Page][] => [
  ...pages.map(([id, k, p]): [string, string, Page] => [id, t(k), p]),
  ...govPages.map(([id, k, p]): [string, string, Page] => [id, tg(k), p]),
];

const app = document.getElementById("app")!;
let ctx: Ctx | null = null;

function current(): string {
  const m = location.hash.match(/^#\/([a-z]+)/);
  return m && allPages().some((p) => p[0] === m[1]) ? m[1] : "home";
}

function langButton(): HTMLElement {
  return h(
    "button",
    {
      type: "button",
      class: "link",
      lang: getLang() === "ja" ? "en" : "ja",
      onclick: () => {
        setLang(getLang() === "ja" ? "en" : "ja");
        render();
      },
    },
    t("lang.switch"),
  );
}

function tenantPicker(c: Ctx): HTMLElement | null {
  if (c.session.tenant || !c.tenants.length) return null;
  const sel = h(
    "select",
    {
      id: "tenant-picker",
      onchange: (e: Event) => {
        c.tenant = (e.target as HTMLSelectElement).value || null;
        sessionStorage.setItem("kasumi.tenant", c.tenant ?? "");
        render();
      },
    },
    h("option", { value: "" }, t("platform")),
    c.tenants.map((tn) => h("option", { value: tn.id, selected: tn.id === c.tenant }, tn.name)),
  );
  return h("div", { class: "picker" }, h("label", { for: "tenant-picker" }, t("tenant")), sel);
}

async function signOut(): Promise<void> {
  await api("POST", "/auth/logout");
  ctx = null;
  location.hash = "";
  await boot();
}

async function render(): Promise<void> {
  document.title = t("app.title");
  document.documentElement.lang = getLang();
  const skip = document.querySelector<HTMLAnchorElement>("a.skip");
  if (skip) skip.textContent = t("skip");
  app.replaceChildren();
  if (!ctx) {
    const main = h("main", { id: "main", tabindex: "-1" });
    app.append(h("header", { class: "top" }, h("span", { class: "brand" }, t("app.title")), langButton()), main);
    await signinPage(main);
    return;
  }
  const c = ctx;
  const name = current();
  const link = (id: string, text: string) =>
    h("li", {}, h("a", { href: "#/" + id, "aria-current": id === name ? "page" : undefined }, text));
  const nav = h(
    "nav",
    { "aria-label": t("nav.label") },
    h("ul", {}, pages.map(([id, key]) => link(id, t(key)))),
    h("h2", { class: "nav-section", id: "nav-gov" }, tg("nav.gov")),
    h("ul", { "aria-labelledby": "nav-gov" }, govPages.map(([id, key]) => link(id, tg(key)))),
  );
  const main = h("main", { id: "main", tabindex: "-1" });
  app.append(
    h(
      "header",
      { class: "top" },
      h("span", { class: "brand" }, t("app.title")),
      tenantPicker(c),
      h("span", { class: "who", "data-testid": "who" }, c.session.name),
      langButton(),
      h("button", { type: "button", class: "link", onclick: () => void signOut() }, t("signout")),
    ),
    h("div", { class: "layout" }, nav, main),
  );
  const page = allPages().find((p) => p[0] === name)!;
  main.append(h("p", { class: "muted" }, t("loading")));
  try {
    const body = h("div", {});
    await page[2](c, body);
    main.replaceChildren(body);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      ctx = null;
      return render();
    }
    main.replaceChildren(errorBox(e));
  }
  main.setAttribute("data-ready", name);
}

async function boot(): Promise<void> {
  setLang(getLang());
  const session = await loadSession();
  if (!session) {
    ctx = null;
    return render();
  }
  let tenants: { id: string; name: string }[] = [];
  try {
    tenants = (await api<{ items: { id: string; name: string }[] }>("GET", "/admin/v1/tenants?limit=1000")).items;
  } catch {
    tenants = [];
  }
  const saved = sessionStorage.getItem("kasumi.tenant");
  const tenant = session.tenant ?? (saved && tenants.some((x) => x.id === saved) ? saved : null);
  ctx = { session, tenant, tenants };
  return render();
}

document.addEventListener("click", (e) => {
  const a = (e.target as HTMLElement).closest("a.skip");
  if (a) {
    e.preventDefault();
    document.getElementById("main")?.focus();
  }
});
window.addEventListener("hashchange", () => void render());
void boot().catch((e) => app.replaceChildren(errorBox(e)));
