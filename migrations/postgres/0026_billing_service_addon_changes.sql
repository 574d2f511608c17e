-- Billing: add-ons added to and removed from a running service.

-- The quantity from the next term when a removal waits for the end of the
-- current one (0 = removed then); NULL = no change scheduled.
ALTER TABLE service_addons ADD COLUMN pending_quantity integer CHECK (pending_quantity >= 0);

-- The generation of the provisioner options the service should run with
-- (bumped when an add-on with options is added or removed) and the one the
-- provisioner last confirmed: the sync job calls ChangePlan while they
-- differ, as it does while backend_plan_id differs from plan_id.
ALTER TABLE services ADD COLUMN options_version integer NOT NULL DEFAULT 0;
ALTER TABLE services ADD COLUMN backend_options_version integer NOT NULL DEFAULT 0;
