module github.com/ezscale/platform/plugins

go 1.26

require github.com/google/go-cmp v0.7.0

replace github.com/ezscale/platform/sdk => ../sdk
