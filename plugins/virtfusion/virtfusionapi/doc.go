// Package virtfusionapi is a typed client for the VirtFusion REST API v1
// (https://<panel>/api/v1), covering what the EZSCALE VirtFusion provisioner
// needs: users by external relation id, packages, hypervisor groups and their
// resources, the server lifecycle (create, build, suspend, unsuspend, delete,
// power, change package, reset password), SSO login tokens, traffic and
// backups.
//
// Every call takes a context. Error answers come back as *Error (an alias of
// the module's shared apierror.Error) carrying the HTTP status, VirtFusion's
// message (from "errors"[0], "msg" or "message", in the order real clients
// read them) and any Retry-After; IsNotFound, IsLocked, IsRateLimited and the
// other helpers classify them.
//
// Field names and shapes follow the official examples; where the reference
// only names fields (traffic, hypervisor group resources, remote state) the
// shapes are documented on the types as inferred.
package virtfusionapi
