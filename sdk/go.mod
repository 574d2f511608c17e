module github.com/ezscale/platform/sdk

go 1.26
