/* commands.c — the CLI's command table: one row per command with its handler, its arguments and
 * flags, and its usage line. Dispatch, argument checking and help all read the same rows, so a
 * command cannot exist without help or accept a flag its row does not declare. */
#include <string.h>

#include "cli.h"

/* Accepted by every command; resolved by context.c. */
static const char global_flags[] = "endpoint token token-file output help";

#define PAGE "limit cursor all"
#define AI_TARGET \
    "model credential-ref weight timeout-ms max-concurrent azure-deployment azure-api-version"
#define AI_POLICY "default-classification class2-overseas class3-forbidden classification-markings " \
                  "pii pii-output terms allowed-networks unscanned-content project-rpm " \
                  "project-tpm key-rpm key-tpm retention-days"

/* cmd_export.c */
int kc_export(struct kc_ctx *c, const struct kc_args *a);
int kc_export_verify(struct kc_ctx *c, const struct kc_args *a);
/* cmd_billing_budget.c */
int kc_billing_budget_set(struct kc_ctx *c, const struct kc_args *a);
int kc_billing_budget_show(struct kc_ctx *c, const struct kc_args *a);
int kc_billing_budget_remove(struct kc_ctx *c, const struct kc_args *a);
int kc_billing_webhook_add(struct kc_ctx *c, const struct kc_args *a);
int kc_billing_webhook_list(struct kc_ctx *c, const struct kc_args *a);
int kc_billing_webhook_delete(struct kc_ctx *c, const struct kc_args *a);
int kc_billing_notifications(struct kc_ctx *c, const struct kc_args *a);
int kc_billing_recommendations(struct kc_ctx *c, const struct kc_args *a);

/* cmd_ai.c (declared here: cli.h is shared by every command file) */
int kc_ai_route_create(struct kc_ctx *c, const struct kc_args *a);
int kc_ai_route_add_target(struct kc_ctx *c, const struct kc_args *a);
int kc_ai_route_list(struct kc_ctx *c, const struct kc_args *a);
int kc_ai_route_get(struct kc_ctx *c, const struct kc_args *a);
int kc_ai_route_delete(struct kc_ctx *c, const struct kc_args *a);
int kc_ai_price_set(struct kc_ctx *c, const struct kc_args *a);
int kc_ai_price_list(struct kc_ctx *c, const struct kc_args *a);
int kc_storage_quota_set(struct kc_ctx *c, const struct kc_args *a);
int kc_storage_quota_get(struct kc_ctx *c, const struct kc_args *a);
int kc_storage_quota_delete(struct kc_ctx *c, const struct kc_args *a);
int kc_ai_budget_set(struct kc_ctx *c, const struct kc_args *a);
int kc_ai_budget_get(struct kc_ctx *c, const struct kc_args *a);
int kc_ai_budget_remove(struct kc_ctx *c, const struct kc_args *a);
int kc_ai_budget_keys(struct kc_ctx *c, const struct kc_args *a);
int kc_ai_destinations(struct kc_ctx *c, const struct kc_args *a);
int kc_ai_decisions(struct kc_ctx *c, const struct kc_args *a);
int kc_ai_key_rates_set(struct kc_ctx *c, const struct kc_args *a);
int kc_ai_key_rates_get(struct kc_ctx *c, const struct kc_args *a);
int kc_ai_key_rates_remove(struct kc_ctx *c, const struct kc_args *a);
int kc_ai_key_models_set(struct kc_ctx *c, const struct kc_args *a);
int kc_ai_key_models_get(struct kc_ctx *c, const struct kc_args *a);
int kc_ai_key_models_remove(struct kc_ctx *c, const struct kc_args *a);
int kc_ai_policy_get(struct kc_ctx *c, const struct kc_args *a);
int kc_ai_policy_set(struct kc_ctx *c, const struct kc_args *a);
int kc_ai_policy_check(struct kc_ctx *c, const struct kc_args *a);
#define AUDIT_FILTERS "since until tenant principal action"

/* cmd_erase.c: erasure and its signed report (docs/lifecycle.md) */
int kc_erase_request(struct kc_ctx *c, const struct kc_args *a);
int kc_erase_confirm(struct kc_ctx *c, const struct kc_args *a);
int kc_erasure_verify(struct kc_ctx *c, const struct kc_args *a);
int kc_erasure_report(struct kc_ctx *c, const struct kc_args *a);
int kc_erasure_render(struct kc_ctx *c, const struct kc_args *a);

/* cmd_supply.c, cmd_sbom.c: the supply-chain register (docs/supply.md) */
int kc_supply_case_create(struct kc_ctx *c, const struct kc_args *a);
int kc_supply_case_update(struct kc_ctx *c, const struct kc_args *a);
int kc_supply_case_get(struct kc_ctx *c, const struct kc_args *a);
int kc_supply_case_list(struct kc_ctx *c, const struct kc_args *a);
int kc_supply_case_step(struct kc_ctx *c, const struct kc_args *a);
int kc_supply_case_advise(struct kc_ctx *c, const struct kc_args *a);
int kc_supply_case_events(struct kc_ctx *c, const struct kc_args *a);
int kc_supply_case_deadlines(struct kc_ctx *c, const struct kc_args *a);
int kc_supply_list_import(struct kc_ctx *c, const struct kc_args *a);
int kc_supply_list_export(struct kc_ctx *c, const struct kc_args *a);
int kc_supply_chain_set(struct kc_ctx *c, const struct kc_args *a);
int kc_supply_chain_get(struct kc_ctx *c, const struct kc_args *a);
int kc_supply_concern_add(struct kc_ctx *c, const struct kc_args *a);
int kc_supply_concern_list(struct kc_ctx *c, const struct kc_args *a);
int kc_supply_concern_delete(struct kc_ctx *c, const struct kc_args *a);
int kc_supply_concern_match(struct kc_ctx *c, const struct kc_args *a);
int kc_supply_stats(struct kc_ctx *c, const struct kc_args *a);
int kc_sbom(struct kc_ctx *c, const struct kc_args *a);
/* cmd_template.c: templates (docs/templates.md) */
int kc_template_run(struct kc_ctx *c, const struct kc_args *a);
int kc_template_versions(struct kc_ctx *c, const struct kc_args *a);
int kc_template_mandatory_set(struct kc_ctx *c, const struct kc_args *a);
int kc_template_mandatory_get(struct kc_ctx *c, const struct kc_args *a);
#define SUPPLY_CASE "agency department contact-name email phone submission-due inspection-due " \
                    "bid-due categories criteria description"

const struct kc_cmd kc_commands[] = {
    {"tenant", "create", kc_tenant_create, 0, "kind name corporate-number", "",
     "tenant create --kind K --name N --corporate-number C",
     "create a tenant (法人番号: 13 digits)"},
    {"tenant", "list", kc_tenant_list, 0, "", "", "tenant list", "list the tenants you may see"},
    {"tenant", "get", kc_tenant_get, 1, "", "", "tenant get ID", "show a tenant"},
    {"tenant", "update", kc_tenant_update, 1, "", "name kind",
     "tenant update ID [--name N] [--kind K]", "rename a tenant or change its kind"},
    {"tenant", "suspend", kc_tenant_suspend, 1, "", "", "tenant suspend ID",
     "suspend a tenant (its principals get 403; data stays)"},
    {"tenant", "resume", kc_tenant_resume, 1, "", "", "tenant resume ID",
     "resume a suspended tenant"},
    {"tenant", "export-identities", kc_tenant_export_identities, 0, "", "out",
     "tenant export-identities [--out FILE]",
     "write every tenant's identity (法人番号, name, kind, status) as a kasumi-registry/1 document"},
    {"tenant", "import-identities", kc_tenant_import_identities, 1, "", "",
     "tenant import-identities FILE",
     "create the tenants of a registry document that are missing here (keyed by 法人番号)"},

    {"template", "validate", kc_template_run, 1, "", "tenant", "template validate FILE [--tenant T]",
     "check a template (exit 2 when invalid)"},
    {"template", "plan", kc_template_run, 1, "", "tenant", "template plan FILE [--tenant T]",
     "show what apply would change, and drift (exit 1 when refused)"},
    {"template", "apply", kc_template_run, 1, "", "tenant", "template apply FILE [--tenant T]",
     "make the tenant match the template (idempotent; exit 1 when refused)"},
    {"template", "versions", kc_template_versions, 0, "tenant", "name",
     "template versions --tenant T [--name N]", "a tenant's template versions"},
    {"template", "mandatory-set", kc_template_mandatory_set, 1, "", "",
     "template mandatory-set FILE", "set the platform's mandatory template (operator)"},
    {"template", "mandatory-get", kc_template_mandatory_get, 0, "", "", "template mandatory-get",
     "the mandatory template in force"},
    {"project", "create", kc_project_create, 0, "tenant name environment", "description",
     "project create --tenant T --name N --environment prod|staging|dev [--description D]",
     "create a project (情報システム)"},
    {"project", "list", kc_project_list, 0, "tenant", "", "project list --tenant T",
     "list a tenant's projects"},
    {"project", "get", kc_project_get, 1, "", "", "project get ID", "show a project"},
    {"project", "update", kc_project_update, 1, "", "name environment description",
     "project update ID [--name N] [--environment E] [--description D]", "update a project"},
    {"project", "delete", kc_project_delete, 1, "", "", "project delete ID",
     "delete an empty project"},

    {"user", "create", kc_user_create, 0, "tenant name email", "",
     "user create --tenant T|platform --name N --email E", "create a user (platform: an operator)"},
    {"user", "list", kc_user_list, 0, "tenant", "", "user list --tenant T|platform",
     "list a tenant's users"},
    {"user", "get", kc_user_get, 1, "", "", "user get ID", "show a user"},
    {"user", "update", kc_user_update, 1, "", "name email", "user update ID [--name N] [--email E]",
     "change a user's name or email"},
    {"user", "disable", kc_user_disable, 1, "", "", "user disable ID", "disable a user"},
    {"user", "enable", kc_user_enable, 1, "", "", "user enable ID", "re-enable a disabled user"},
    {"user", "delete", kc_user_delete, 1, "", "", "user delete ID",
     "delete a user (revokes its keys)"},

    {"group", "create", kc_group_create, 0, "tenant name", "", "group create --tenant T --name N",
     "create a group"},
    {"group", "list", kc_group_list, 0, "tenant", "", "group list --tenant T",
     "list a tenant's groups"},
    {"group", "get", kc_group_get, 1, "", "", "group get ID", "show a group and its members"},
    {"group", "delete", kc_group_delete, 1, "", "", "group delete ID", "delete a group"},
    {"group", "add-member", kc_group_add_member, 2, "", "", "group add-member GROUP USER",
     "add a user to a group"},
    {"group", "remove-member", kc_group_remove_member, 2, "", "", "group remove-member GROUP USER",
     "remove a user from a group"},

    {"role", "bind", kc_role_bind, 0, "principal role scope", "",
     "role bind --principal P --role R --scope platform|tenant/ID|project/ID",
     "bind a role to a user or group at a scope"},
    {"role", "list", kc_role_list, 0, "", "scope principal",
     "role list [--scope S] [--principal P]", "list role bindings"},
    {"role", "get", kc_role_get, 1, "", "", "role get ID", "show a role binding"},
    {"role", "unbind", kc_role_unbind, 1, "", "", "role unbind ID", "delete a role binding"},
    {"roles", NULL, kc_roles, 0, "", "", "roles", "list roles and the permissions they grant"},

    {"key", "create", kc_key_create, 0, "user", "kind project expires-at name",
     "key create --user U [--kind api|s3] [--project P] [--expires-at T] [--name N]",
     "create an API key (the secret is shown once)"},
    {"key", "list", kc_key_list, 0, "", "user tenant", "key list [--user U] [--tenant T]",
     "list keys"},
    {"key", "get", kc_key_get, 1, "", "", "key get ID", "show a key (never its secret)"},
    {"key", "revoke", kc_key_revoke, 1, "", "", "key revoke ID", "revoke a key"},

    {"kms key", "list", kc_kms_key_list, 0, "tenant", "", "kms key list --tenant T",
     "a tenant's encryption keys: tenant key and bucket keys, versions, states"},
    {"kms key", "rotate", kc_kms_key_rotate, 0, "tenant", "bucket",
     "kms key rotate --tenant T [--bucket B]",
     "new key version for new data (the tenant key without --bucket); old versions kept"},
    {"kms key", "disable", kc_kms_key_disable, 0, "tenant", "bucket",
     "kms key disable --tenant T [--bucket B]",
     "reads and writes under the key fail until it is enabled"},
    {"kms key", "enable", kc_kms_key_enable, 0, "tenant", "bucket",
     "kms key enable --tenant T [--bucket B]", "re-enable a disabled key"},
    {"kms key", "destroy", kc_kms_key_destroy, 0, "tenant confirm", "bucket",
     "kms key destroy --tenant T [--bucket B] --confirm BUCKET_NAME|TENANT_ID",
     "crypto-erasure, irreversible: the key's data is unreadable for ever"},
    {"kms", "backup", kc_kms_backup, 0, "data shares threshold", "",
     "kms backup --data DIR --shares N --threshold K",
     "split DIR's master key into N Shamir shares (text), any K rebuild it (on the host)"},
    {"kms", "restore", kc_kms_restore, 0, "data", "in force",
     "kms restore --data DIR [--in FILE] [--force]",
     "rebuild DIR's master key from K shares (stdin or FILE) and write it (on the host)"},
    {"kms", "rotate-master", kc_kms_rotate_master, 0, "data", "",
     "kms rotate-master --data DIR",
     "new master key; every tenant key and sealed secret re-wrapped (kasumid stopped)"},

    {"audit", "query", kc_audit_query, 0, "", AUDIT_FILTERS " " PAGE,
     "audit query [--since T] [--until T] [--tenant T] [--principal P] [--action A] [--limit N] "
     "[--cursor C] [--all]",
     "search the audit log, newest first"},
    {"export", "verify", kc_export_verify, 1, "", "", "export verify FILE.tar",
     "check every file of an export archive against its manifest (exit 0 intact, 1 not)"},
    {"export", NULL, kc_export, 0, "", "tenant project out bucket key bucket-tenant",
     "export --tenant T|--project P --out FILE.tar | export --tenant T --bucket B --key K [--bucket-tenant T2] [--project P]",
     "a tenant's or project's data as a tar archive (objects, registry, audit, bills, manifest)"},
    {"audit", "export", kc_audit_export, 0, "", AUDIT_FILTERS " out",
     "audit export [--since T] [--until T] [--tenant T] [--principal P] [--action A] [--out FILE]",
     "export matching records as JSON Lines (every page)"},
    {"audit", "verify", kc_audit_verify, 1, "public-key", "every-signature",
     "audit verify DIR --public-key FILE [--every-signature]",
     "verify audit segments offline (exit 0 intact, 1 tampered)"},
    {"audit", "public-key", kc_audit_public_key, 0, "", "out", "audit public-key [--out FILE]",
     "fetch the Ed25519 key that signs the audit log (PEM)"},

    {"erase", "request", kc_erase_request, 0, "", "tenant project bucket expires-in",
     "erase request (--tenant T | --project P | --bucket B --tenant T) [--expires-in S]",
     "request an erasure; prints the confirmation token (valid 900 s by default)"},
    {"erase", "confirm", kc_erase_confirm, 1, "", "report-out html-out pdf-out wait",
     "erase confirm TOKEN [--report-out REPORT.json] [--html-out FILE] [--pdf-out FILE] [--wait S]",
     "confirm (another administrator when the tenant has several); with --report-out waits "
     "for the job and writes the signed report. Irreversible"},
    {"erasure", "verify", kc_erasure_verify, 1, "public-key", "",
     "erasure verify REPORT.json --public-key FILE",
     "check a report's Ed25519 signature offline (exit 0 valid, 1 not valid)"},
    {"erasure", "report", kc_erasure_report, 1, "", "out html-out pdf-out",
     "erasure report TOKEN [--out REPORT.json] [--html-out FILE] [--pdf-out FILE]",
     "fetch a finished erasure's signed report with its token"},
    {"erasure", "render", kc_erasure_render, 1, "", "html pdf",
     "erasure render REPORT.json [--html FILE] [--pdf FILE]",
     "the printable データ消去証明書 of a report, as HTML and/or PDF"},

    {"usage", "list", kc_usage_list, 0, "", "tenant project service meter since until " PAGE,
     "usage list [--tenant T] [--project P] [--service S] [--meter M] [--since T] [--until T] "
     "[--limit N] [--cursor C] [--all]",
     "list usage records"},

    {"billing", "price add", kc_billing_price_add, 0, "service meter unit price",
     "per valid-from valid-until",
     "billing price add --service S --meter M --unit U --price YEN [--per N] [--valid-from T] "
     "[--valid-until T]",
     "add a price: YEN per N units of a meter (units: request, byte, byte_second)"},
    {"billing", "price end", kc_billing_price_end, 1, "valid-until", "",
     "billing price end ID --valid-until T", "end an open-ended price at a time not yet passed"},
    {"billing", "price list", kc_billing_price_list, 0, "", "service " PAGE,
     "billing price list [--service S]", "the price list"},
    {"billing", "report", kc_billing_report, 0, "month", "tenant project format out",
     "billing report --month YYYY-MM [--tenant T [--project P]] "
     "[--format csv|json|xlsx|html|pdf] [--out FILE]",
     "the monthly usage and fee report (実績レポート), FOCUS 1.2 columns; open or closed month"},
    {"billing", "usage", kc_billing_usage, 0, "month", "group-by tenant project",
     "billing usage --month YYYY-MM [--group-by day|service|project] [--tenant T [--project P]]",
     "a month's cost (税抜) per JST day, service or project"},
    {"billing", "month close", kc_billing_month_close, 1, "", "", "billing month close YYYY-MM",
     "close a past JST month: its report never changes again"},
    {"billing", "recompute", kc_billing_recompute, 0, "month", "",
     "billing recompute --month YYYY-MM",
     "rebuild a closed month from the audit log; exit 1 naming every ledger row that differs"},
    {"billing", "month list", kc_billing_month_list, 0, "", PAGE, "billing month list",
     "closed months"},
    {"billing", "budget set", kc_billing_budget_set, 0, "project monthly-yen", "alert-thresholds",
     "billing budget set --project P --monthly-yen N [--alert-thresholds 50,80,100]",
     "a project's monthly budget (JST month): all its spend, AI and storage, and alert thresholds"},
    {"billing", "budget show", kc_billing_budget_show, 0, "project", "",
     "billing budget show --project P",
     "a project's budget, spend this month (AI and other), reservations and alerts crossed"},
    {"billing", "budget remove", kc_billing_budget_remove, 0, "project", "",
     "billing budget remove --project P", "remove a project's budget (no limit again)"},
    {"billing", "webhook add", kc_billing_webhook_add, 0, "tenant url", "project",
     "billing webhook add --tenant T --url URL [--project P]",
     "POST budget alerts to URL (signed; the secret is printed this once)"},
    {"billing", "webhook list", kc_billing_webhook_list, 0, "tenant", PAGE,
     "billing webhook list --tenant T", "a tenant's budget alert webhooks"},
    {"billing", "webhook delete", kc_billing_webhook_delete, 1, "tenant", "",
     "billing webhook delete ID --tenant T", "remove a webhook (pending notifications are cancelled)"},
    {"billing", "notifications", kc_billing_notifications, 0, "tenant", PAGE,
     "billing notifications --tenant T", "budget alert notifications and their delivery state"},
    {"billing", "recommendations", kc_billing_recommendations, 0, "tenant", "project",
     "billing recommendations --tenant T [--project P]",
     "savings with their monthly estimate: idle buckets and keys, stale uploads, cheaper models"},

    {"model-route", "create", kc_ai_route_create, 0,
     "project alias provider base-url jurisdiction", AI_TARGET,
     "model-route create --project P --alias A --provider openai|anthropic --base-url U "
     "--jurisdiction JP [--model M] [--credential-ref FILE] [--weight N] [--timeout-ms N] "
     "[--max-concurrent N]",
     "create a model route with one upstream target"},
    {"model-route", "add-target", kc_ai_route_add_target, 1, "provider base-url jurisdiction",
     AI_TARGET,
     "model-route add-target ROUTE --provider P --base-url U --jurisdiction J [--model M] "
     "[--credential-ref FILE] [--weight N] [--timeout-ms N] [--max-concurrent N]",
     "append a fallback target to a model route"},
    {"model-route", "list", kc_ai_route_list, 0, "project", PAGE, "model-route list --project P",
     "list a project's model routes"},
    {"model-route", "get", kc_ai_route_get, 1, "", "", "model-route get ID", "show a model route"},
    {"model-route", "delete", kc_ai_route_delete, 1, "", "", "model-route delete ID",
     "delete a model route"},
    {"model-price", "set", kc_ai_price_set, 0, "model prompt-per-1k completion-per-1k",
     "cached-per-1k effective-from",
     "model-price set --model A --prompt-per-1k Y --completion-per-1k Y [--cached-per-1k Y] "
     "[--effective-from T]",
     "add a price in yen per 1,000 tokens (never retroactive)"},
    {"model-price", "list", kc_ai_price_list, 0, "", "model " PAGE, "model-price list [--model A]",
     "list model prices"},
    {"storage-quota", "set", kc_storage_quota_set, 0, "project", "max-bytes max-objects",
     "storage-quota set --project P [--max-bytes N|500GiB] [--max-objects N]",
     "set a project's storage quota"},
    {"storage-quota", "get", kc_storage_quota_get, 0, "project", "", "storage-quota get --project P",
     "a project's storage quota and what its buckets hold now"},
    {"storage-quota", "delete", kc_storage_quota_delete, 0, "project", "",
     "storage-quota delete --project P", "remove a project's storage quota"},
    {"budget", "set", kc_ai_budget_set, 0, "project monthly-yen", "alert-thresholds key",
     "budget set --project P [--key K] --monthly-yen N [--alert-thresholds 50,80,100]",
     "set a project's monthly AI budget (JST month) and its alerts, or with --key that API key's own "
     "in the project"},
    {"budget", "get", kc_ai_budget_get, 0, "project", "key", "budget get --project P [--key K]",
     "a project's (or a key's) AI budget, spend this month and reservations"},
    {"budget", "remove", kc_ai_budget_remove, 0, "project", "key",
     "budget remove --project P [--key K]",
     "remove a project's AI budget (no limit again), or a key's (the project's alone applies)"},
    {"budget", "keys", kc_ai_budget_keys, 0, "project", "", "budget keys --project P",
     "the project's API keys with a budget or AI spend this month: what each spent"},
    {"key-models", "set", kc_ai_key_models_set, 0, "project key models", "",
     "key-models set --project P --key K --models A,B ('' for none)",
     "which of the project's models an API key may call there"},
    {"key-models", "get", kc_ai_key_models_get, 0, "project key", "", "key-models get --project P --key K",
     "the models an API key may call in a project (null: every one)"},
    {"key-models", "remove", kc_ai_key_models_remove, 0, "project key", "",
     "key-models remove --project P --key K", "let an API key call every model of the project again"},
    {"ai", "destinations", kc_ai_destinations, 0, "", "tenant project since until fiscal-year",
     "ai destinations [--tenant T [--project P]] [--since T] [--until T | --fiscal-year N]",
     "where AI requests' content went: requests per jurisdiction of the model servers, by "
     "classification, and how many abroad (default: the last 30 days; 年度 N: April N to March N+1)"},
    {"ai", "decisions", kc_ai_decisions, 0, "", "tenant project since until fiscal-year by",
     "ai decisions [--tenant T [--project P]] [--since T] [--until T | --fiscal-year N] "
     "[--by classification|model|project|user]",
     "what the AI gateway decided for each request (allowed, masked, blocked, refused) by "
     "classification, model, project or user (default: the last 30 days)"},
    {"key-rate-limits", "set", kc_ai_key_rates_set, 0, "project key", "rpm tpm",
     "key-rate-limits set --project P --key K [--rpm N] [--tpm N]",
     "an API key's own requests and tokens a minute in a project, in place of the project's "
     "key_rpm and key_tpm (0: no limit for the key)"},
    {"key-rate-limits", "get", kc_ai_key_rates_get, 0, "project key", "",
     "key-rate-limits get --project P --key K",
     "an API key's own requests and tokens a minute (null: the project's) and those in force"},
    {"key-rate-limits", "remove", kc_ai_key_rates_remove, 0, "project key", "",
     "key-rate-limits remove --project P --key K", "the project's per-key quota for the key again"},
    {"ai-policy", "get", kc_ai_policy_get, 0, "project", "", "ai-policy get --project P",
     "a project's AI policy"},
    {"ai-policy", "set", kc_ai_policy_set, 0, "project", AI_POLICY,
     "ai-policy set --project P [--default-classification 1..3] [--class2-overseas true|false] "
     "[--class3-forbidden true|false] [--classification-markings true|false] "
     "[--pii KIND=block|mask|allow,...] [--pii-output KIND=mask|allow,...] "
     "[--terms TERM=mask|block,... (the whole list; '' clears it)] "
     "[--allowed-networks CIDR,... (where calls may come from; '' for anywhere)] "
     "[--unscanned-content refuse|allow_in_japan] [--project-rpm N] "
     "[--project-tpm N] [--key-rpm N] [--key-tpm N] [--retention-days N]",
     "change fields of a project's AI policy"},
    {"ai-policy", "check", kc_ai_policy_check, 0, "project", "text text-file classification overseas",
     "ai-policy check --project P (--text T | --text-file F|-) [--classification 1..3] "
     "[--overseas true|false]",
     "what the project's guardrail does with a text: its decision, the text a model would get, and "
     "the text a caller would get were a model to write it (nothing is sent or kept)"},

    {"supply", "case create", kc_supply_case_create, 0, "tenant title agency", SUPPLY_CASE,
     "supply case create --tenant T --title X --agency A [--categories C,C] [--criteria 1,2] "
     "[--submission-due D] [--inspection-due D] [--bid-due D] [--department D] "
     "[--contact-name N] [--email E] [--phone P] [--description D]",
     "create a procurement case (dates: 2026-06-20 or 令和8.6.20); shows its scope decision"},
    {"supply", "case update", kc_supply_case_update, 1, "", "title " SUPPLY_CASE,
     "supply case update ID [--title X] [--agency A] [...as create]",
     "change a case (after advice this reopens the review)"},
    {"supply", "case get", kc_supply_case_get, 1, "", "", "supply case get ID",
     "show a case, its scope decision and advice"},
    {"supply", "case list", kc_supply_case_list, 0, "", "tenant state " PAGE,
     "supply case list [--tenant T] [--state S]",
     "list a tenant's cases (without --tenant: every tenant's, for reviewers)"},
    {"supply", "case deadlines", kc_supply_case_deadlines, 0, "tenant", "within-days",
     "supply case deadlines --tenant T [--within-days 30]", "upcoming deadlines, soonest first"},
    {"supply", "case submit", kc_supply_case_step, 1, "", "", "supply case submit ID",
     "submit a case for review"},
    {"supply", "case review", kc_supply_case_step, 1, "", "", "supply case review ID",
     "take a submitted case for review (supply_reviewer)"},
    {"supply", "case advise", kc_supply_case_advise, 1, "concern", "reason alternative mitigation",
     "supply case advise ID --concern yes|no [--reason R] [--alternative A] [--mitigation M]",
     "give advice: 懸念なし, or 懸念あり with a reason and an alternative or mitigation"},
    {"supply", "case resolve", kc_supply_case_step, 1, "", "measures",
     "supply case resolve ID [--measures M]", "close a case after advice (懸念あり: --measures)"},
    {"supply", "case events", kc_supply_case_events, 1, "", "", "supply case events ID",
     "a case's history: every step with its actor"},
    {"supply", "list import", kc_supply_list_import, 1, "case", "format encoding",
     "supply list import --case ID FILE [--format csv|xlsx|json] [--encoding utf-8|cp932]",
     "import an equipment list (機器リスト); on any error nothing is imported"},
    {"supply", "list export", kc_supply_list_export, 0, "case format", "out",
     "supply list export --case ID --format xlsx|csv|json [--out FILE]",
     "export the current equipment list in the form's layout"},
    {"supply", "chain set", kc_supply_chain_set, 1, "case", "",
     "supply chain set --case ID FILE.json", "set the subcontractor chain from a JSON file"},
    {"supply", "chain get", kc_supply_chain_get, 0, "case", "", "supply chain get --case ID",
     "show the subcontractor chain"},
    {"supply", "concern add", kc_supply_concern_add, 0, "reason",
     "corporate-number name model-pattern",
     "supply concern add --reason R [--corporate-number C] [--name N] [--model-pattern P]",
     "add a maker or product of concern (supply_reviewer)"},
    {"supply", "concern list", kc_supply_concern_list, 0, "", PAGE, "supply concern list",
     "the concern list"},
    {"supply", "concern delete", kc_supply_concern_delete, 1, "", "", "supply concern delete ID",
     "remove a concern list entry"},
    {"supply", "concern match", kc_supply_concern_match, 0, "case", "",
     "supply concern match --case ID", "match a case's list and chain against the concern list"},
    {"supply", "stats", kc_supply_stats, 0, "", "fiscal-year", "supply stats [--fiscal-year Y]",
     "advice given per fiscal year (助言実績)"},
    {"sbom", NULL, kc_sbom, 0, "", "format company", "sbom [--format cyclonedx|csv] [--company N]",
     "kasumi's own third-party products (CycloneDX; csv: as an equipment list)"},

    {"whoami", NULL, kc_whoami, 0, "", "", "whoami", "the calling principal and its bindings"},
    {"routes", NULL, kc_routes, 0, "", "", "routes", "the admin API's route table"},
    {"health", NULL, kc_health, 0, "", "", "health", "liveness of the daemon (GET /healthz)"},
    {"ready", NULL, kc_ready, 0, "", "", "ready", "readiness of the daemon (GET /readyz)"},
    {"metrics", NULL, kc_metrics, 0, "", "", "metrics", "Prometheus metrics (text)"},
};

const int kc_ncommands = (int)(sizeof kc_commands / sizeof kc_commands[0]);

/* How many of a's leading words the row's noun takes ("kms key" takes two), 0 when they differ. */
static int noun_match(const char *noun, const struct kc_args *a)
{
    int w = 0;
    for (const char *p = noun; *p; w++) {
        size_t len = strcspn(p, " ");
        if (w >= a->npos || strlen(a->pos[w]) != len || strncmp(a->pos[w], p, len))
            return 0;
        p += len;
        p += strspn(p, " ");
    }
    return w;
}

/* Does the row belong to the noun (its first word)? */
static bool noun_is(const char *row_noun, const char *noun)
{
    size_t len = strcspn(row_noun, " ");
    return strlen(noun) == len && !strncmp(row_noun, noun, len);
}

bool kc_noun_known(const char *noun)
{
    for (int i = 0; i < kc_ncommands; i++)
        if (noun_is(kc_commands[i].noun, noun))
            return true;
    return false;
}

const struct kc_cmd *kc_cmd_find(const struct kc_args *a, int *nwords)
{
    for (int i = 0; i < kc_ncommands; i++) {
        const struct kc_cmd *cmd = &kc_commands[i];
        int w = noun_match(cmd->noun, a);
        if (!w)
            continue;
        if (!cmd->verb) {
            *nwords = w;
            return cmd;
        }
        if (a->npos > w && !strcmp(cmd->verb, a->pos[w])) {
            *nwords = w + 1;
            return cmd;
        }
        /* a two-word verb: "supply case create" */
        size_t w1 = strcspn(cmd->verb, " ");
        if (cmd->verb[w1] && a->npos >= 3 && strlen(a->pos[1]) == w1 &&
            !strncmp(cmd->verb, a->pos[1], w1) && !strcmp(cmd->verb + w1 + 1, a->pos[2])) {
            *nwords = 3;
            return cmd;
        }
    }
    return NULL;
}

/* Is name one of the space-separated words in list? */
static bool in_list(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, " ");
        if (len == n && !strncmp(p, name, n))
            return true;
        p += len;
        p += strspn(p, " ");
    }
    return false;
}

static int check_required(const struct kc_cmd *cmd, const struct kc_args *a)
{
    for (const char *p = cmd->required; *p;) {
        size_t len = strcspn(p, " ");
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)len, p);
        const char *v = kc_flag(a, name);
        if (!v || !*v)
            return kc_usage_err(cmd, "--%s is required", name);
        p += len;
        p += strspn(p, " ");
    }
    return 0;
}

int kc_cmd_check(const struct kc_cmd *cmd, const struct kc_args *a)
{
    for (int i = 0; i < a->nflags; i++) {
        const char *name = a->flags[i].name;
        if (!in_list(global_flags, name) && !in_list(cmd->required, name) &&
            !in_list(cmd->optional, name))
            return kc_usage_err(cmd, "unknown flag --%s", name);
    }
    if (a->npos < cmd->npos)
        return kc_usage_err(cmd, "missing argument");
    if (a->npos > cmd->npos)
        return kc_usage_err(cmd, "unexpected argument '%s'", a->pos[cmd->npos]);
    for (int i = 0; i < a->npos; i++)
        if (!*a->pos[i])
            return kc_usage_err(cmd, "empty argument");
    return check_required(cmd, a);
}

void kc_help_cmd(FILE *f, const struct kc_cmd *cmd)
{
    fprintf(f, "usage: kasumi %s\n", cmd->usage);
}

static void help_row(FILE *f, const struct kc_cmd *cmd)
{
    fprintf(f, "  kasumi %s\n      %s\n", cmd->usage, cmd->summary);
}

static void help_globals(FILE *f)
{
    fputs(
        "\nglobal flags (before or after the command):\n"
        "  --endpoint URL      admin API base URL (env KASUMI_ENDPOINT; "
        "default " KC_DEFAULT_ENDPOINT ")\n"
        "  --token-file FILE   read the bearer token from FILE (env KASUMI_TOKEN_FILE)\n"
        "  --token SECRET      the bearer token (env KASUMI_TOKEN; prefer a file: argv is "
        "visible)\n"
        "  --output table|json, -o   table (default) or the API's JSON as returned\n"
        "  --help, -h          this help; 'kasumi NOUN --help' for one noun\n"
        "\nexit status: 0 ok, 1 API error (or audit tampered), 2 usage error, 3 connection error\n",
        f);
}

void kc_help_noun(FILE *f, const char *noun)
{
    fprintf(f, "usage:\n");
    for (int i = 0; i < kc_ncommands; i++)
        if (noun_is(kc_commands[i].noun, noun))
            help_row(f, &kc_commands[i]);
    help_globals(f);
}

void kc_help_all(FILE *f)
{
    fputs("kasumi — command-line client of the kasumi admin API\n\nusage: kasumi COMMAND [ARGS] "
          "[FLAGS]\n\ncommands:\n",
          f);
    for (int i = 0; i < kc_ncommands; i++)
        help_row(f, &kc_commands[i]);
    fputs("  kasumi help [NOUN]\n      this help\n", f);
    help_globals(f);
}
