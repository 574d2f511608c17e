// Package enterprise is the sales-led path to a clustered setup
// (docs/enterprise.md): the product does not automate clustering, by
// decision. A customer submits a request (nodes, load balancer, failover,
// region, notes); staff quote it (a custom monthly price on a base plan, a
// setup fee, terms, an expiry); the customer accepts or declines the quote
// before it expires. Acceptance creates the account's private plan at the
// quoted price (catalog.CreatePrivatePlanTx) and invoices the setup fee,
// in one transaction; staff then attach the services they provisioned by
// hand to that plan (billing.AttachPrivatePlan). The request, the quote and
// the answer (who, when) stay on the request row: the account's documents.
//
// It owns the enterprise_requests table; no other package reads it.
// Billing is reached through the Billing interface, wired in core/app.
package enterprise
