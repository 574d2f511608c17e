// Package projects groups an account's services into projects and records
// which services depend on which: the dependency graph a customer sees, and
// the guard that stops a service others depend on from being ended by
// mistake. It owns the tables projects, project_services,
// service_dependencies and service_graphs; no other package reads them.
// docs/projects.md is the customer's and integrator's guide.
//
// # Who may act
//
// The HTTP route table admits a caller to an account and checks their role
// for the route. Within the account, Service.authorize is the one place
// that decides whether an Actor may read or change a project (and, through
// serviceProjects, the projects of the services a request names): today
// every admitted member may act on every project of the account; member
// roles limited to some projects belong there and nowhere else. A project
// or service of another account is NotFound, like one that does not exist.
//
// # Services
//
// Services belong to core/services. This package reads them only through
// the Services interface (app wires ServicesOf, a projection of
// core/services' facts), inside the caller's transaction when there is
// one, and keeps nothing of them but their ids.
//
// # Cycles and concurrency
//
// An edge A → B (A depends on B) closes a cycle when A is reachable from B.
// AddDependency checks that with a breadth-first search from both ends (B
// following dependencies, A following dependents), a level at a time of
// the smaller side, one batched query per level over the edge indexes,
// after locking the account's service_graphs row (an
// upsert: a row lock on PostgreSQL; SQLite has one writer). Two inserts
// that would together form a cycle therefore run one after the other, and
// the second sees the first's edge and is refused. Ending a service (the
// billing guard, CheckEnd) takes the same lock, so no dependency on it can
// be added while it ends.
//
// # Billing
//
// Billing calls back through interfaces it defines: CheckEnd (the
// termination guard, in the transaction that would cancel or terminate a
// service) and ProjectsOf (the project each invoice line's service is in
// when the invoice is written).
package projects
