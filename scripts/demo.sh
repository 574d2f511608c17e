#!/usr/bin/env bash
# The sandbox (`make demo`, docs/demo.md): the VirtFusion, Pterodactyl and Kasm fakes on localhost,
# a core configured against them (config/examples/demo.hcl) with a staff admin and the demo
# catalog, serving http://127.0.0.1:8080 until Ctrl-C. Stopping it (Ctrl-C, SIGTERM, or the core
# exiting) stops the fakes too. Each start is fresh: the fakes keep their state in memory, so the
# sandbox's database is recreated with them.
#
# Overrides (tests use them): EZSCALE_DEMO_BIN (binaries, default bin), EZSCALE_DEMO_DATA (default
# data/demo), EZSCALE_DEMO_{VIRTFUSION,PTERODACTYL,KASM}_ADDR (the fakes' listen addresses, default
# 127.0.0.1:8481-8483; port 0 picks one), EZSCALE_SERVER_LISTEN (the core's address).
set -euo pipefail
cd "$(dirname "$0")/.."

export EZSCALE_DEMO_BIN=${EZSCALE_DEMO_BIN:-bin}
export EZSCALE_DEMO_DATA=${EZSCALE_DEMO_DATA:-data/demo}
CONFIG=config/examples/demo.hcl
CATALOG=config/examples/demo-catalog.json
ADMIN_EMAIL=${EZSCALE_DEMO_ADMIN_EMAIL:-admin@demo.test}
ADMIN_PASSWORD=${EZSCALE_DEMO_ADMIN_PASSWORD:-demo admin password}

# The fakes' credentials: their defaults (see plugins/README.md), handed to the core through the
# environment as a real deployment would hand it real ones.
export EZSCALE_DEMO_VIRTFUSION_TOKEN=${EZSCALE_DEMO_VIRTFUSION_TOKEN:-vf-test-token}
export EZSCALE_DEMO_PTERODACTYL_APP_KEY=${EZSCALE_DEMO_PTERODACTYL_APP_KEY:-ptla_testapplicationkey0000000000000000000}
export EZSCALE_DEMO_PTERODACTYL_CLIENT_KEY=${EZSCALE_DEMO_PTERODACTYL_CLIENT_KEY:-ptlc_testclientkey000000000000000000000000}
export EZSCALE_DEMO_KASM_KEY=${EZSCALE_DEMO_KASM_KEY:-kasm-test-key}
export EZSCALE_DEMO_KASM_SECRET=${EZSCALE_DEMO_KASM_SECRET:-kasm-test-secret}

for b in ezscale ezscale-fakes ezscale-plugin-virtfusion ezscale-plugin-pterodactyl ezscale-plugin-kasm; do
	if [ ! -x "$EZSCALE_DEMO_BIN/$b" ]; then
		echo "demo: $EZSCALE_DEMO_BIN/$b is missing; run make build (make demo does)" >&2
		exit 1
	fi
done

rm -rf "$EZSCALE_DEMO_DATA"
mkdir -p "$EZSCALE_DEMO_DATA"
FAKES_LOG="$EZSCALE_DEMO_DATA/fakes.log"

fakes_pid=""
core_pid=""
stop() {
	for pid in "$core_pid" "$fakes_pid"; do
		if [ -n "$pid" ]; then
			kill -TERM "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
		fi
	done
	core_pid="" fakes_pid=""
}
trap stop EXIT
# The fakes and the core run as background jobs, which a script starts with SIGINT ignored: Ctrl-C
# reaches this script, which stops the core (gracefully, SIGTERM) and then the fakes.
trap 'exit 130' INT
trap 'exit 143' TERM

"$EZSCALE_DEMO_BIN/ezscale-fakes" \
	-virtfusion "${EZSCALE_DEMO_VIRTFUSION_ADDR:-127.0.0.1:8481}" -virtfusion-token "$EZSCALE_DEMO_VIRTFUSION_TOKEN" \
	-pterodactyl "${EZSCALE_DEMO_PTERODACTYL_ADDR:-127.0.0.1:8482}" \
	-pterodactyl-app-key "$EZSCALE_DEMO_PTERODACTYL_APP_KEY" -pterodactyl-client-key "$EZSCALE_DEMO_PTERODACTYL_CLIENT_KEY" \
	-kasm "${EZSCALE_DEMO_KASM_ADDR:-127.0.0.1:8483}" -kasm-key "$EZSCALE_DEMO_KASM_KEY" -kasm-secret "$EZSCALE_DEMO_KASM_SECRET" \
	>"$FAKES_LOG" 2>&1 &
fakes_pid=$!

# The fakes print "<name> <base URL>" once listening.
for _ in $(seq 100); do
	if [ "$(grep -c ' http://' "$FAKES_LOG" || true)" -ge 3 ]; then
		break
	fi
	if ! kill -0 "$fakes_pid" 2>/dev/null; then
		echo "demo: the fakes did not start:" >&2
		cat "$FAKES_LOG" >&2
		exit 1
	fi
	sleep 0.1
done
url_of() { awk -v n="$1" '$1 == n { print $2 }' "$FAKES_LOG"; }
export EZSCALE_DEMO_VIRTFUSION_URL EZSCALE_DEMO_PTERODACTYL_URL EZSCALE_DEMO_KASM_URL
EZSCALE_DEMO_VIRTFUSION_URL=$(url_of virtfusion)
EZSCALE_DEMO_PTERODACTYL_URL=$(url_of pterodactyl)
EZSCALE_DEMO_KASM_URL=$(url_of kasm)
if [ -z "$EZSCALE_DEMO_VIRTFUSION_URL" ] || [ -z "$EZSCALE_DEMO_PTERODACTYL_URL" ] || [ -z "$EZSCALE_DEMO_KASM_URL" ]; then
	echo "demo: the fakes did not report their addresses:" >&2
	cat "$FAKES_LOG" >&2
	exit 1
fi
echo "demo: fakes: VirtFusion $EZSCALE_DEMO_VIRTFUSION_URL, Pterodactyl $EZSCALE_DEMO_PTERODACTYL_URL, Kasm $EZSCALE_DEMO_KASM_URL"

ezscale() { "$EZSCALE_DEMO_BIN/ezscale" --config "$CONFIG" "$@"; }
ezscale migrate >/dev/null
printf '%s\n' "$ADMIN_PASSWORD" | ezscale admin create --email "$ADMIN_EMAIL" --role admin --password-stdin >/dev/null
ezscale catalog import "$CATALOG"

cat <<MSG
demo: staff admin $ADMIN_EMAIL / "$ADMIN_PASSWORD"; the walkthrough is docs/demo.md.
demo: starting the core; Ctrl-C stops it and the fakes.
MSG
"$EZSCALE_DEMO_BIN/ezscale" --config "$CONFIG" serve &
core_pid=$!
wait "$core_pid"
