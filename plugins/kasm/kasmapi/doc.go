// Package kasmapi is a typed client for the classic Kasm Workspaces developer
// API (/api/public/*): every call is a POST with api_key and api_key_secret
// in the JSON body. It covers users (create_user, get_user, delete_user),
// sessions (request_kasm, get_kasm_status, destroy_kasm, get_kasms) and
// images (get_images).
//
// Kasm usually reports errors as HTTP 200 with {"error_message": "…"}; some
// come as 4xx (400 for an unknown user_id or kasm_id, 401/403 for keys
// without permission). Both come back as *Error: StatusCode is the HTTP
// status (200 for in-body errors) and Message the error_message. IsNotFound
// recognises the unknown-id answers as well as 404.
//
// The newer Kasm API (Basic auth, application/problem+json, 1.19+) is not
// covered: existing installs expose the classic one.
package kasmapi
