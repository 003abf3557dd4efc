// env.ts — what this node's environment does not offer. An overseas-ai kasumid stores no data: its
// storage routes answer 404 not_supported_in_environment (SPEC.md O3), and its console says so
// instead of showing empty tables.
import { ApiError } from "../api";
import { t } from "../i18n";
import { h } from "../ui";

export function notSupportedHere(e: unknown): boolean {
  return e instanceof ApiError && e.code === "not_supported_in_environment";
}

export function storesNothing(main: HTMLElement): void {
  main.append(
    h("h1", {}, t("storage.title")),
    h("p", { class: "muted", "data-testid": "storage-unsupported" }, t("env.storesNothing")),
  );
}
