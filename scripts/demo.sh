#!/usr/bin/env bash
# The sandbox (`make demo`, docs/demo.md): bin/ezscale-fakes serves, on localhost, fakes of
# VirtFusion, Pterodactyl, Kasm and Discord, a mail catcher, and Stripe's stripe-mock (when it is
# installed); a core configured against them (config/examples/demo.hcl) with a staff admin and the
# demo catalog serves http://127.0.0.1:8080 until Ctrl-C. Stopping it (Ctrl-C, SIGTERM, or the core
# exiting) stops the fakes too. Each start is fresh: the fakes keep their state in memory, so the
# sandbox's database is recreated with them.
#
# Nothing needs exporting: demo.hcl's defaults are the fakes' addresses and credentials. Overrides
# (tests use them): EZSCALE_DEMO_BIN (binaries, default bin), EZSCALE_DEMO_DATA (default data/demo),
# EZSCALE_DEMO_{VIRTFUSION,PTERODACTYL,KASM,DISCORD,STRIPE,MAIL,SMTP,BATTLEMETRICS,GAMETRACKER}_ADDR (the fakes' listen
# addresses, default 127.0.0.1:8481-8489; port 0 picks one), EZSCALE_DEMO_STRIPE_MOCK (the
# stripe-mock executable; default: found in PATH or $(go env GOPATH)/bin), EZSCALE_SERVER_LISTEN
# and EZSCALE_SERVER_PUBLIC_URL (the core's address).
set -euo pipefail
cd "$(dirname "$0")/.."

export EZSCALE_DEMO_BIN=${EZSCALE_DEMO_BIN:-bin}
export EZSCALE_DEMO_DATA=${EZSCALE_DEMO_DATA:-data/demo}
CONFIG=config/examples/demo.hcl
CATALOG=config/examples/demo-catalog.json
ADMIN_EMAIL=${EZSCALE_DEMO_ADMIN_EMAIL:-admin@demo.test}
ADMIN_PASSWORD=${EZSCALE_DEMO_ADMIN_PASSWORD:-demo admin password}
STRIPE_INSTALL="go install github.com/stripe/stripe-mock@v0.203.0"

# The fakes' credentials: demo.hcl's defaults, passed to the fakes so that an override of one
# (an exported EZSCALE_DEMO_… variable) reaches both sides.
export EZSCALE_DEMO_VIRTFUSION_TOKEN=${EZSCALE_DEMO_VIRTFUSION_TOKEN:-vf-test-token}
export EZSCALE_DEMO_PTERODACTYL_APP_KEY=${EZSCALE_DEMO_PTERODACTYL_APP_KEY:-ptla_testapplicationkey0000000000000000000}
export EZSCALE_DEMO_PTERODACTYL_CLIENT_KEY=${EZSCALE_DEMO_PTERODACTYL_CLIENT_KEY:-ptlc_testclientkey000000000000000000000000}
export EZSCALE_DEMO_KASM_KEY=${EZSCALE_DEMO_KASM_KEY:-kasm-test-key}
export EZSCALE_DEMO_KASM_SECRET=${EZSCALE_DEMO_KASM_SECRET:-kasm-test-secret}
export EZSCALE_DEMO_DISCORD_BOT_TOKEN=${EZSCALE_DEMO_DISCORD_BOT_TOKEN:-demo-discord-bot-token}
export EZSCALE_DEMO_DISCORD_WEBHOOK_TOKEN=${EZSCALE_DEMO_DISCORD_WEBHOOK_TOKEN:-demo-discord-webhook-token}

for b in ezscale ezscale-fakes ezscale-plugin-virtfusion ezscale-plugin-pterodactyl ezscale-plugin-kasm \
	ezscale-plugin-email ezscale-plugin-stripe ezscale-plugin-discord; do
	if [ ! -x "$EZSCALE_DEMO_BIN/$b" ]; then
		echo "demo: $EZSCALE_DEMO_BIN/$b is missing; run make build (make demo does)" >&2
		exit 1
	fi
done

# Card payments need stripe-mock, Stripe's official API mock (a Go binary).
STRIPE_MOCK=${EZSCALE_DEMO_STRIPE_MOCK:-$(command -v stripe-mock || true)}
if [ -z "$STRIPE_MOCK" ] && command -v go >/dev/null 2>&1; then
	gobin="$(go env GOPATH 2>/dev/null | cut -d: -f1)/bin/stripe-mock"
	if [ -x "$gobin" ]; then
		STRIPE_MOCK=$gobin
	fi
fi
stripe_args=()
fakes_expected=8
if [ -n "$STRIPE_MOCK" ]; then
	stripe_args=(-stripe "${EZSCALE_DEMO_STRIPE_ADDR:-127.0.0.1:8485}" -stripe-mock "$STRIPE_MOCK")
	fakes_expected=9
else
	echo "demo: stripe-mock is not installed, so this sandbox takes no card payments; install it with" >&2
	echo "demo:   $STRIPE_INSTALL" >&2
	echo "demo: and start make demo again. Everything else works." >&2
	export EZSCALE_BILLING_PAYMENT_GATEWAY=""
fi

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
	-discord "${EZSCALE_DEMO_DISCORD_ADDR:-127.0.0.1:8484}" \
	-discord-bot-token "$EZSCALE_DEMO_DISCORD_BOT_TOKEN" -discord-webhook-token "$EZSCALE_DEMO_DISCORD_WEBHOOK_TOKEN" \
	-mail "${EZSCALE_DEMO_MAIL_ADDR:-127.0.0.1:8486}" -smtp "${EZSCALE_DEMO_SMTP_ADDR:-127.0.0.1:8487}" \
	-battlemetrics "${EZSCALE_DEMO_BATTLEMETRICS_ADDR:-127.0.0.1:8488}" -gametracker "${EZSCALE_DEMO_GAMETRACKER_ADDR:-127.0.0.1:8489}" \
	"${stripe_args[@]}" >"$FAKES_LOG" 2>&1 &
fakes_pid=$!

# The fakes print "<name> <base URL>" once listening (stripe-mock takes a few seconds to start).
for _ in $(seq 600); do
	if [ "$(grep -cE '^[a-z]+ [a-z]+://' "$FAKES_LOG" || true)" -ge "$fakes_expected" ]; then
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
export EZSCALE_DEMO_VIRTFUSION_URL EZSCALE_DEMO_PTERODACTYL_URL EZSCALE_DEMO_KASM_URL EZSCALE_DEMO_DISCORD_URL \
	EZSCALE_DEMO_MAIL_URL EZSCALE_DEMO_SMTP_PORT EZSCALE_DEMO_STRIPE_URL
EZSCALE_DEMO_VIRTFUSION_URL=$(url_of virtfusion)
EZSCALE_DEMO_PTERODACTYL_URL=$(url_of pterodactyl)
EZSCALE_DEMO_KASM_URL=$(url_of kasm)
EZSCALE_DEMO_DISCORD_URL=$(url_of discord)
EZSCALE_DEMO_MAIL_URL=$(url_of mail)
smtp=$(url_of smtp)
EZSCALE_DEMO_SMTP_PORT=${smtp##*:}
EZSCALE_DEMO_STRIPE_URL=$(url_of stripe)
if [ -z "$EZSCALE_DEMO_VIRTFUSION_URL" ] || [ -z "$EZSCALE_DEMO_PTERODACTYL_URL" ] || [ -z "$EZSCALE_DEMO_KASM_URL" ] ||
	[ -z "$EZSCALE_DEMO_DISCORD_URL" ] || [ -z "$EZSCALE_DEMO_MAIL_URL" ] || [ -z "$smtp" ] ||
	{ [ -n "$STRIPE_MOCK" ] && [ -z "$EZSCALE_DEMO_STRIPE_URL" ]; }; then
	echo "demo: the fakes did not report their addresses:" >&2
	cat "$FAKES_LOG" >&2
	exit 1
fi
if [ -z "$STRIPE_MOCK" ]; then
	unset EZSCALE_DEMO_STRIPE_URL
fi
echo "demo: fakes: VirtFusion $EZSCALE_DEMO_VIRTFUSION_URL, Pterodactyl $EZSCALE_DEMO_PTERODACTYL_URL, Kasm $EZSCALE_DEMO_KASM_URL, Discord $EZSCALE_DEMO_DISCORD_URL, Stripe ${EZSCALE_DEMO_STRIPE_URL:-off}"

ezscale() { "$EZSCALE_DEMO_BIN/ezscale" --config "$CONFIG" "$@"; }
ezscale migrate >/dev/null
printf '%s\n' "$ADMIN_PASSWORD" | ezscale admin create --email "$ADMIN_EMAIL" --role admin --password-stdin >/dev/null
ezscale catalog import "$CATALOG"

cat <<MSG
demo: staff admin $ADMIN_EMAIL / "$ADMIN_PASSWORD"; the walkthrough is docs/demo.md.
demo: mail: every email the sandbox sends is at $EZSCALE_DEMO_MAIL_URL (open it in a browser).
demo: Discord: $EZSCALE_DEMO_DISCORD_URL/__fake/state; the fakes log what Discord, the mail catcher and Stripe are asked in $FAKES_LOG.
demo: starting the core; Ctrl-C stops it and the fakes.
MSG
"$EZSCALE_DEMO_BIN/ezscale" --config "$CONFIG" serve &
core_pid=$!
wait "$core_pid"
