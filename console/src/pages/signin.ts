// signin.ts — sign-in: one button per identity provider this node trusts for browsers. The button
// is a plain link to /auth/login; kasumid does the authorization-code flow with PKCE and comes back
// to /console/ with the session cookie.
import { api } from "../api";
import { t } from "../i18n";
import { errorBox, field, h, inlineForm, section } from "../ui";

// The local sign-in: the key goes once to /auth/local, which answers with the session cookie; the
// page then starts over as signed in. The key is never kept by the page.
function localForm(): HTMLElement {
  const token = h("input", { type: "password", name: "token", autocomplete: "off", required: true }) as HTMLInputElement;
  const status = h("div", { "aria-live": "polite" });
  const form = inlineForm(
    status,
    async () => {
      await api("POST", "/auth/local", { token: token.value });
      token.value = "";
      location.reload();
    },
    [
      field(t("signin.local.token"), token),
      h("button", { type: "submit" }, t("signin.local.submit")),
    ],
    {
      onError: (err) => {
        token.value = "";
        status.replaceChildren(errorBox(err));
      },
    },
  );
  return section(t("signin.local"), h("p", { class: "muted" }, t("signin.local.lead")), form, status);
}

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
    localForm(),
  );
  main.setAttribute("data-ready", "signin");
}
