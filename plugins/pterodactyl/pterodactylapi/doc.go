// Package pterodactylapi is a typed client for the Pterodactyl Panel's
// Application API (/api/application, key ptla_…, owner must be a root admin)
// and Client API (/api/client, key ptlc_…): users, servers with their build,
// suspension and deletion, nodes and free allocations, nests and eggs, and on
// the client side power signals, resource usage and console commands.
//
// Answers use Pterodactyl's Fractal envelope ({"object","attributes"} items,
// {"object":"list","data","meta.pagination"} lists); this package unwraps
// them. Error answers ({"errors":[{"code","status","detail","meta"}]}) come
// back as *Error with Code set to the exception name and Message to the first
// detail; IsConflict reports the 409 a suspended or installing server gives
// to power calls.
package pterodactylapi
