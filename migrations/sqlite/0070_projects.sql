-- Projects and service dependencies (core/projects owns these tables; no
-- other package reads them).

-- A project groups an account's services. Archived projects keep their
-- name (name_key is the name in lower case, unique per account, archived
-- ones included) and their ended services, and take no new ones.
CREATE TABLE projects (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id),
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    -- "#rrggbb" or '' (the console picks one).
    colour      TEXT NOT NULL DEFAULT '',
    -- An icon name of the console's set, or ''.
    icon        TEXT NOT NULL DEFAULT '',
    archived_at TIMESTAMP,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    UNIQUE (account_id, name_key)
);
CREATE INDEX projects_account_idx ON projects (account_id, id);

-- A service is in at most one project (the primary key); no row = no
-- project.
CREATE TABLE project_services (
    service_id  TEXT PRIMARY KEY REFERENCES services (id),
    project_id  TEXT NOT NULL REFERENCES projects (id),
    account_id  TEXT NOT NULL REFERENCES accounts (id),
    assigned_at TIMESTAMP NOT NULL
);
CREATE INDEX project_services_project_idx ON project_services (project_id, service_id);
CREATE INDEX project_services_account_idx ON project_services (account_id, service_id);

-- service_id depends on depends_on_id: both of one account, never itself,
-- once per pair, and never in a cycle (checked on insert under the
-- account's service_graphs row).
CREATE TABLE service_dependencies (
    id            TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts (id),
    service_id    TEXT NOT NULL REFERENCES services (id),
    depends_on_id TEXT NOT NULL REFERENCES services (id),
    type          TEXT NOT NULL CHECK (type IN ('database', 'storage', 'network', 'api', 'other')),
    critical      BOOLEAN NOT NULL DEFAULT 0,
    note          TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    CHECK (service_id <> depends_on_id),
    UNIQUE (service_id, depends_on_id)
);
CREATE INDEX service_dependencies_account_idx ON service_dependencies (account_id, id);
CREATE INDEX service_dependencies_depends_on_idx ON service_dependencies (depends_on_id, service_id);

-- One row per account whose graph changed: inserting an edge, and ending a
-- service others may depend on, lock it first, so two inserts that would
-- together close a cycle run one after the other.
CREATE TABLE service_graphs (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id),
    version    INTEGER NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
