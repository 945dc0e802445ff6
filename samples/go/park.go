// Goroutines parked in known ways, with distinct counts so every group is
// recognisable: chan receive (3), select (2), sync.Mutex (4), sync.Cond (1),
// network accept (1) and read (2), and sleep (5).
//
//	park
package main

import (
	"net"
	"runtime"
	"sync"
	"time"
)

func waitChan(c chan int) { <-c }

func waitSelect(a, b chan int) {
	select {
	case <-a:
	case <-b:
	}
}

func waitMutex(mu *sync.Mutex) {
	mu.Lock()
	defer mu.Unlock()
}

func waitCond(c *sync.Cond) {
	c.L.Lock()
	c.Wait()
	c.L.Unlock()
}

func waitAccept(l net.Listener) { _, _ = l.Accept() }

func waitRead(c net.Conn) {
	buf := make([]byte, 16)
	_, _ = c.Read(buf)
}

func sleepLong() { time.Sleep(time.Hour) }

func startAll(mu *sync.Mutex, cond *sync.Cond) int {
	c, a, b := make(chan int), make(chan int), make(chan int)
	for i := 0; i < 3; i++ {
		go waitChan(c)
	}
	for i := 0; i < 2; i++ {
		go waitSelect(a, b)
	}
	for i := 0; i < 4; i++ {
		go waitMutex(mu)
	}
	go waitCond(cond)
	for i := 0; i < 5; i++ {
		go sleepLong()
	}
	idle, err := net.Listen("tcp", "127.0.0.1:0") // nobody dials it
	if err != nil {
		panic(err)
	}
	go waitAccept(idle)
	l, err := net.Listen("tcp", "127.0.0.1:0") // dialled, never accepted, never written
	if err != nil {
		panic(err)
	}
	for i := 0; i < 2; i++ {
		client, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			panic(err)
		}
		go waitRead(client)
	}
	return 3 + 2 + 4 + 1 + 5 + 1 + 2
}

func main() {
	dumpOnSignal()
	base := runtime.NumGoroutine()
	var mu sync.Mutex
	mu.Lock()
	cond := sync.NewCond(&sync.Mutex{})
	n := startAll(&mu, cond)
	for i := 0; i < 5000 && runtime.NumGoroutine() != base+n; i++ {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // let every goroutine park
	ready()
	serveStdin(func(int) {})
}
