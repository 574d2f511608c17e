module github.com/ezscale/platform/plugins

go 1.26

require (
	github.com/google/go-cmp v0.7.0
	github.com/stripe/stripe-go/v82 v82.5.1
)

replace github.com/ezscale/platform/sdk => ../sdk
