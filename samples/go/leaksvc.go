// The goleak story as a small service. Execute asks for two resources with
// a short timeout, each fetched by a goroutine of its own. GetResourceB
// ignores the context and sleeps for an hour, so every request that times
// out leaves one goroutine behind in time.Sleep. With -fixed, GetResourceB
// selects on ctx.Done() and returns when the request is cancelled.
//
//	leaksvc [-fixed] [-requests N]
package main

import (
	"context"
	"flag"
	"runtime"
	"time"
)

var fixed = flag.Bool("fixed", false, "GetResourceB honours cancellation")

func GetResourceA(ctx context.Context, out chan<- string) {
	out <- "a"
}

func GetResourceB(ctx context.Context, out chan<- string) {
	if *fixed {
		t := time.NewTimer(time.Hour)
		defer t.Stop()
		select {
		case <-t.C:
			out <- "b"
		case <-ctx.Done():
		}
		return
	}
	time.Sleep(time.Hour) // the bug: ctx is ignored
	out <- "b"
}

// Execute returns "context deadline exceeded" when a resource is late.
func Execute(ctx context.Context, timeout time.Duration, id int) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out := make(chan string, 2)
	go GetResourceA(ctx, out)
	go GetResourceB(ctx, out)
	for i := 0; i < 2; i++ {
		select {
		case <-out:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

var served int

// serve handles k requests, then waits until the goroutine count is what
// the version promises (base + leaked), so the counts are exact.
func serve(base, k int) {
	for i := 0; i < k; i++ {
		_ = Execute(context.Background(), time.Millisecond, served+i)
	}
	served += k
	want := base
	if !*fixed {
		want += served
	}
	for i := 0; i < 5000 && runtime.NumGoroutine() != want; i++ {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // let the leaked ones reach time.Sleep
}

func main() {
	requests := flag.Int("requests", 5, "requests served before the first ready")
	flag.Parse()
	dumpOnSignal()
	base := runtime.NumGoroutine()
	serve(base, *requests)
	ready()
	serveStdin(func(k int) { serve(base, k) })
}
