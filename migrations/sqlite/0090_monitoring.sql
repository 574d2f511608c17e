-- Game-server monitoring (core/monitoring): one monitor per game service and
-- monitor plugin (BattleMetrics, GameTracker, …) with the latest reading, and
-- the samples the sampling job takes. A monitor is attached automatically
-- (manual = false) when a game service has an address; staff or the customer
-- may set the address and the listing id themselves (manual = true), which the
-- automatic attachment then leaves alone. down_streak counts consecutive
-- samples in which the listing shows the server down while the backend runs
-- it; reported_down says the health path (auto-recovery's) was told.
-- Samples older than monitoring.retention are pruned.

CREATE TABLE game_monitors (
    service_id     text NOT NULL,
    plugin         text NOT NULL,
    account_id     text NOT NULL,
    address        text NOT NULL,
    port           INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
    game           text NOT NULL DEFAULT '',
    listing_id     text NOT NULL DEFAULT '',
    manual         boolean NOT NULL DEFAULT false,
    enabled        boolean NOT NULL DEFAULT true,
    status         text NOT NULL DEFAULT 'unknown',
    name           text NOT NULL DEFAULT '',
    map            text NOT NULL DEFAULT '',
    players        INTEGER NOT NULL DEFAULT 0,
    max_players    INTEGER NOT NULL DEFAULT 0,
    rank           INTEGER NOT NULL DEFAULT 0,
    listing_url    text NOT NULL DEFAULT '',
    banner_url     text NOT NULL DEFAULT '',
    stale          boolean NOT NULL DEFAULT false,
    down_streak    INTEGER NOT NULL DEFAULT 0,
    reported_down  boolean NOT NULL DEFAULT false,
    last_sample_at TIMESTAMP,
    last_error     text NOT NULL DEFAULT '',
    next_sample_at TIMESTAMP NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (service_id, plugin)
);
CREATE INDEX game_monitors_due_idx ON game_monitors (next_sample_at) WHERE enabled;
CREATE INDEX game_monitors_account_idx ON game_monitors (account_id, service_id);

CREATE TABLE game_monitor_samples (
    service_id  text NOT NULL,
    plugin      text NOT NULL,
    sampled_at  TIMESTAMP NOT NULL,
    online      boolean NOT NULL,
    players     INTEGER NOT NULL CHECK (players >= 0),
    max_players INTEGER NOT NULL CHECK (max_players >= 0),
    rank        INTEGER NOT NULL CHECK (rank >= 0),
    PRIMARY KEY (service_id, plugin, sampled_at)
);
CREATE INDEX game_monitor_samples_sampled_idx ON game_monitor_samples (sampled_at);
