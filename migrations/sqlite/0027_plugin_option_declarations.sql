-- Provisioner option declarations (sdk.Options, from Describe) and what
-- each plan offers customers to choose at order.

-- The last declaration each plugin described: plans are checked against it
-- while the plugin is not running (crashed, restarting, or `ezscale catalog
-- import` before the first serve). options is a JSON array of sdk.Option.
CREATE TABLE plugin_option_declarations (
    plugin       TEXT PRIMARY KEY,
    version      TEXT NOT NULL,
    options      TEXT NOT NULL DEFAULT '[]',
    described_at TIMESTAMP NOT NULL
);

-- The options a customer may choose when ordering the plan: a JSON object
-- of key → array of the values offered ([] = any value the plugin's
-- declaration accepts). Keys not listed cannot be chosen.
ALTER TABLE plans ADD COLUMN order_options TEXT NOT NULL DEFAULT '{}';
