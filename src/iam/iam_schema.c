/* iam_schema.c — the IAM tables. Platform level is NULL in tenant_id (no tenant), which lets the
 * foreign keys hold for everything else; deletions cascade through the keys so that removing a user,
 * group or project cannot leave a binding or key pointing at nothing. Migrations are append-only. */
#include "iam/iam.h"
#include "iam/iam_int.h"

#include "core/util.h"

static const struct ksm_migration iam_migrations[] = {
    {"iam", 1,
     "CREATE TABLE iam_tenants("
     " id TEXT PRIMARY KEY,"
     " kind TEXT NOT NULL,"
     " name TEXT NOT NULL,"
     " corporate_number TEXT NOT NULL UNIQUE,"
     " status TEXT NOT NULL DEFAULT 'active' CHECK(status IN ('active','suspended')),"
     " created_at INTEGER NOT NULL,"
     " updated_at INTEGER NOT NULL);"

     "CREATE TABLE iam_projects("
     " id TEXT PRIMARY KEY,"
     " tenant_id TEXT NOT NULL REFERENCES iam_tenants(id),"
     " name TEXT NOT NULL,"
     " environment TEXT NOT NULL,"
     " description TEXT NOT NULL DEFAULT '',"
     " created_at INTEGER NOT NULL,"
     " updated_at INTEGER NOT NULL,"
     " UNIQUE(tenant_id, name));"

     "CREATE TABLE iam_users("
     " id TEXT PRIMARY KEY,"
     " tenant_id TEXT REFERENCES iam_tenants(id),"
     " name TEXT NOT NULL,"
     " email TEXT NOT NULL,"
     " disabled INTEGER NOT NULL DEFAULT 0,"
     " created_at INTEGER NOT NULL,"
     " updated_at INTEGER NOT NULL);"
     "CREATE UNIQUE INDEX iam_users_email ON iam_users(ifnull(tenant_id,''), lower(email));"

     "CREATE TABLE iam_groups("
     " id TEXT PRIMARY KEY,"
     " tenant_id TEXT NOT NULL REFERENCES iam_tenants(id),"
     " name TEXT NOT NULL,"
     " created_at INTEGER NOT NULL,"
     " UNIQUE(tenant_id, name));"

     "CREATE TABLE iam_group_members("
     " group_id TEXT NOT NULL REFERENCES iam_groups(id) ON DELETE CASCADE,"
     " user_id TEXT NOT NULL REFERENCES iam_users(id) ON DELETE CASCADE,"
     " created_at INTEGER NOT NULL,"
     " PRIMARY KEY(group_id, user_id));"
     "CREATE INDEX iam_group_members_user ON iam_group_members(user_id);"

     /* exactly one of user_id / group_id; tenant NULL = platform scope */
     "CREATE TABLE iam_bindings("
     " id TEXT PRIMARY KEY,"
     " user_id TEXT REFERENCES iam_users(id) ON DELETE CASCADE,"
     " group_id TEXT REFERENCES iam_groups(id) ON DELETE CASCADE,"
     " role TEXT NOT NULL,"
     " tenant_id TEXT REFERENCES iam_tenants(id),"
     " project_id TEXT REFERENCES iam_projects(id) ON DELETE CASCADE,"
     " created_at INTEGER NOT NULL,"
     " created_by TEXT NOT NULL DEFAULT '',"
     " CHECK((user_id IS NULL) <> (group_id IS NULL)),"
     " CHECK(project_id IS NULL OR tenant_id IS NOT NULL));"
     "CREATE UNIQUE INDEX iam_bindings_uniq ON iam_bindings("
     " ifnull(user_id, group_id), role, ifnull(tenant_id,''), ifnull(project_id,''));"
     "CREATE INDEX iam_bindings_user ON iam_bindings(user_id);"
     "CREATE INDEX iam_bindings_group ON iam_bindings(group_id);"
     "CREATE INDEX iam_bindings_tenant ON iam_bindings(tenant_id);"

     /* tenant_id copies the user's, so ownership needs no join; secret_hash is SHA-256 hex */
     "CREATE TABLE iam_keys("
     " id TEXT PRIMARY KEY,"
     " user_id TEXT NOT NULL REFERENCES iam_users(id) ON DELETE CASCADE,"
     " tenant_id TEXT REFERENCES iam_tenants(id),"
     " project_id TEXT REFERENCES iam_projects(id) ON DELETE CASCADE,"
     " kind TEXT NOT NULL,"
     " name TEXT NOT NULL DEFAULT '',"
     " secret_hash TEXT NOT NULL UNIQUE,"
     " created_at INTEGER NOT NULL,"
     " created_by TEXT NOT NULL DEFAULT '',"
     " expires_at INTEGER,"
     " revoked_at INTEGER);"
     "CREATE INDEX iam_keys_user ON iam_keys(user_id);"
     "CREATE INDEX iam_keys_tenant ON iam_keys(tenant_id);"},
    {"iam", 2,
     /* S3 access keys: SigV4 needs the secret itself, so it is kept sealed under the environment's
      * master key (by the caller: src/iam never sees key material), never in the clear */
     "CREATE TABLE iam_s3_keys("
     " key_id TEXT PRIMARY KEY REFERENCES iam_keys(id) ON DELETE CASCADE,"
     " access_key_id TEXT NOT NULL UNIQUE,"
     " sealed BLOB NOT NULL);"},
    {"iam", 3,
     /* single sign-on (oidc_*.c): who a provider's subject is here (the issuer is the config's
      * section name); state is a digest of what the last sign-in set, so an unchanged token
      * writes nothing */
     "CREATE TABLE sso_identities("
     " issuer TEXT NOT NULL,"
     " subject TEXT NOT NULL,"
     " user_id TEXT NOT NULL REFERENCES iam_users(id) ON DELETE CASCADE,"
     " state TEXT NOT NULL DEFAULT '',"
     " created_at INTEGER NOT NULL,"
     " last_seen_at INTEGER NOT NULL,"
     " PRIMARY KEY(issuer, subject));"
     "CREATE INDEX sso_identities_user ON sso_identities(user_id);"
     /* an IdP group grants a role at a scope; the bindings it makes carry created_by 'sso:<id>' */
     "CREATE TABLE sso_group_roles("
     " id TEXT PRIMARY KEY,"
     " issuer TEXT NOT NULL,"
     " idp_group TEXT NOT NULL,"
     " role TEXT NOT NULL,"
     " tenant_id TEXT REFERENCES iam_tenants(id),"
     " project_id TEXT REFERENCES iam_projects(id) ON DELETE CASCADE,"
     " created_at INTEGER NOT NULL,"
     " created_by TEXT NOT NULL DEFAULT '',"
     " CHECK(project_id IS NULL OR tenant_id IS NOT NULL));"
     "CREATE UNIQUE INDEX sso_group_roles_uniq ON sso_group_roles("
     " issuer, idp_group, role, ifnull(tenant_id,''), ifnull(project_id,''));"
     "CREATE INDEX sso_group_roles_tenant ON sso_group_roles(tenant_id);"
     /* console sessions: only the SHA-256 of the cookie is kept */
     "CREATE TABLE sso_sessions("
     " id_hash TEXT PRIMARY KEY,"
     " user_id TEXT NOT NULL REFERENCES iam_users(id) ON DELETE CASCADE,"
     " issuer TEXT NOT NULL,"
     " mfa INTEGER NOT NULL,"
     " csrf TEXT NOT NULL,"
     " created_at INTEGER NOT NULL,"
     " last_seen_at INTEGER NOT NULL,"
     " expires_at INTEGER NOT NULL);"
     "CREATE INDEX sso_sessions_user ON sso_sessions(user_id);"},
    {"iam", 4,
     /* erasure (src/lifecycle): an erased tenant keeps its row, suspended for good, so its audit
      * records and ledger still name it; status reads "erased" (a column, because SQLite cannot
      * widen the status CHECK without rebuilding a table that others reference) */
     "ALTER TABLE iam_tenants ADD COLUMN erased_at INTEGER;"},
};

void ksm_iam_register_schema(void)
{
    ksm_db_register(iam_migrations, (int)KSM_NELEM(iam_migrations));
    ksm_iam__key_use_register_schema();
}
