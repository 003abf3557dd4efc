// signin.ts — sign-in: one button per identity provider this node trusts for browsers. The button
// is a plain link to /auth/login; kasumid does the authorization-code flow with PKCE and comes back
// to /console/ with the session cookie.
import { api } from "../api";
import { t } from "../i18n";
import { h, section } from "../ui";

export async function signinPage(main: HTMLElement): Promise<void> {
  const { items } = await api<{ items: { name: string }[] }>("GET", "/auth/providers");
  const back = "/console/" + location.hash;
  main.append(
    h("h1", {}, t("signin.title")),
    section(
      t("signin.title"),
      h("p", {}, t("signin.lead")),
      items.length
        ? h(
            "ul",
            { class: "plain" },
            items.map((p) =>
              h(
                "li",
                {},
                h(
                  "a",
                  {
                    class: "button",
                    href: "/auth/login?issuer=" + encodeURIComponent(p.name) + "&return_to=" + encodeURIComponent(back),
                  },
                  t("signin.with", { name: p.name }),
                ),
              ),
            ),
          )
        : h("p", { class: "muted" }, t("signin.none")),
    ),
  );
  main.setAttribute("data-ready", "signin");
}
