module github.com/ezscale/platform/plugins

go 1.26

require github.com/ezscale/platform/sdk v0.0.0

replace github.com/ezscale/platform/sdk => ../sdk
