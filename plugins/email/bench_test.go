package main

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkDeliver sends messages one after another to the in-process SMTP
// server (one SMTP session per message, as in production).
func BenchmarkDeliver(b *testing.B) {
	bb := setup(b, serverOptions{}, nil)
	n := bb.h.Notifier()
	ctx := context.Background()
	i := 0
	start := time.Now()
	for b.Loop() {
		i++
		if _, err := n.Deliver(ctx, message("bench-"+strconv.Itoa(i), "ada@example.net")); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// BenchmarkDeliverParallel sends from GOMAXPROCS goroutines, as the core's
// notification workers do.
func BenchmarkDeliverParallel(b *testing.B) {
	bb := setup(b, serverOptions{}, nil)
	n := bb.h.Notifier()
	ctx := context.Background()
	var i atomic.Int64
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := n.Deliver(ctx, message("bench-"+strconv.FormatInt(i.Add(1), 10), "ada@example.net")); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
