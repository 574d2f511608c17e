module github.com/ezscale/platform

go 1.26.0
