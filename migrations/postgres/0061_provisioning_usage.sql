-- Provisioning: resource usage samples pulled from the provisioners by the
-- usage collector. Integers only; units are in the column names:
--   cpu_centipercent  hundredths of a percent of the allocated CPU, 100 %
--                     per core summed (a 2-core server flat out = 20000)
--   *_bytes           bytes; bandwidth_* are the backend's counters for its
--                     current period (in/out as reported; limit 0 = none)
-- One row per service and sampling time (a repeated collection of the same
-- tick inserts nothing); rows older than provisioning.usage_retention are
-- pruned.

CREATE TABLE usage_samples (
    service_id            text NOT NULL REFERENCES services (id),
    sampled_at            timestamptz NOT NULL,
    cpu_centipercent      bigint NOT NULL CHECK (cpu_centipercent >= 0),
    ram_used_bytes        bigint NOT NULL CHECK (ram_used_bytes >= 0),
    ram_total_bytes       bigint NOT NULL CHECK (ram_total_bytes >= 0),
    disk_used_bytes       bigint NOT NULL CHECK (disk_used_bytes >= 0),
    disk_total_bytes      bigint NOT NULL CHECK (disk_total_bytes >= 0),
    bandwidth_in_bytes    bigint NOT NULL CHECK (bandwidth_in_bytes >= 0),
    bandwidth_out_bytes   bigint NOT NULL CHECK (bandwidth_out_bytes >= 0),
    bandwidth_limit_bytes bigint NOT NULL CHECK (bandwidth_limit_bytes >= 0),
    PRIMARY KEY (service_id, sampled_at)
);
CREATE INDEX usage_samples_sampled_idx ON usage_samples (sampled_at);
