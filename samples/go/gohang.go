// Goroutines blocked on sync.Mutexes, for hang triage (docs/hang.md, "Go").
// Prints the addresses of its mutexes ("mu1 0xc000...") and then "ready N".
//
//	gohang convoy    7 goroutines wait on mu1 and 3 on mu2; each mutex is
//	                 held by a goroutine in time.Sleep. rw is read-held by a
//	                 sleeper: one writer waits for it to drain, two readers
//	                 wait behind that writer, a second writer waits for the
//	                 first (4 waiters on rw); 2 goroutines wait on wg. main
//	                 serves stdin (the protocol of protocol.go). Not every
//	                 goroutine is asleep. Prints "rw 0x..." and "wg 0x..." too.
//	gohang deadlock  the same 7 and 3 waiters, but mu1's holder and mu2's
//	                 holder deadlock ABBA on muA and muB, and main blocks in
//	                 select {}: every user goroutine is asleep. An os/signal
//	                 watcher keeps the runtime from aborting with "all
//	                 goroutines are asleep" (its thread counts as running),
//	                 so the process lives until it is killed.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"
)

var mu1, mu2, muA, muB sync.Mutex
var rw sync.RWMutex
var wg sync.WaitGroup

//go:noinline
func waitOn(mu *sync.Mutex) {
	mu.Lock()
	mu.Unlock()
}

//go:noinline
func holdAndSleep(mu *sync.Mutex, held chan<- bool) {
	mu.Lock()
	held <- true
	time.Sleep(time.Hour)
	mu.Unlock()
}

// Locks `outer` and `first`, says so, waits for the peer, then locks `second`.
//
//go:noinline
func holdAndCross(outer, first, second *sync.Mutex, held chan<- bool, peer *sync.WaitGroup) {
	outer.Lock()
	first.Lock()
	held <- true
	peer.Done()
	peer.Wait()
	second.Lock()
}

//go:noinline
func readLocked(held chan<- bool) {
	rw.RLock()
	held <- true
	time.Sleep(time.Hour)
	rw.RUnlock()
}

//go:noinline
func writeWait() { rw.Lock() }

//go:noinline
func readWait() { rw.RLock() }

//go:noinline
func groupWait() { wg.Wait() }

// 4 goroutines on rw (writer behind readers, readers and a writer behind
// that writer) and 2 on wg; 7 goroutines in all.
func startRW() {
	held := make(chan bool)
	go readLocked(held)
	<-held
	go writeWait()
	for rw.TryRLock() { // until the writer is pending
		rw.RUnlock()
		time.Sleep(time.Millisecond)
	}
	go readWait()
	go readWait()
	go writeWait()
	wg.Add(1)
	go groupWait()
	go groupWait()
}

func start(deadlock bool) {
	held := make(chan bool)
	var peer sync.WaitGroup
	peer.Add(2)
	if deadlock {
		go holdAndCross(&mu1, &muA, &muB, held, &peer)
		go holdAndCross(&mu2, &muB, &muA, held, &peer)
	} else {
		go holdAndSleep(&mu1, held)
		go holdAndSleep(&mu2, held)
	}
	<-held
	<-held
	for i := 0; i < 7; i++ {
		go waitOn(&mu1)
	}
	for i := 0; i < 3; i++ {
		go waitOn(&mu2)
	}
}

func main() {
	if len(os.Args) != 2 || (os.Args[1] != "convoy" && os.Args[1] != "deadlock") {
		fmt.Fprintln(os.Stderr, "usage: gohang convoy|deadlock")
		os.Exit(2)
	}
	deadlock := os.Args[1] == "deadlock"
	signal.Notify(make(chan os.Signal, 1), syscall.SIGUSR2) // starts the os/signal watcher
	base := runtime.NumGoroutine()
	start(deadlock)
	want := base + 12
	if !deadlock {
		startRW()
		want += 7
	}
	for i := 0; i < 5000 && runtime.NumGoroutine() != want; i++ {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // let every waiter park
	fmt.Printf("mu1 %p\nmu2 %p\nmuA %p\nmuB %p\nrw %p\nwg %p\n", &mu1, &mu2, &muA, &muB, &rw, &wg)
	ready()
	if deadlock {
		select {}
	}
	serveStdin(func(int) {})
}
