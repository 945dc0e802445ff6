// The protocol every sample speaks, like the C++ samples: "ready N" on
// stdout when the work is done (N = live goroutines), then one command per
// stdin line:
//
//	more K     serve K more requests (leaksvc), then "ready N"
//	dump PATH  write the runtime's own full goroutine dump
//	           (runtime.Stack(buf, true)) to PATH, then "dumped PATH"
//	quit       exit
//
// SIGUSR1 writes the same dump to the file named by $GO_SAMPLE_DUMP.
// The dump is the tests' oracle: it is written just before the core is taken.
package main

import (
	"bufio"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

func ready() {
	fmt.Printf("ready %d\n", runtime.NumGoroutine())
}

func writeDump(path string) error {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return os.WriteFile(path, buf[:n], 0o644)
		}
		buf = make([]byte, 2*len(buf))
	}
}

func dumpOnSignal() {
	path := os.Getenv("GO_SAMPLE_DUMP")
	if path == "" {
		return
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGUSR1)
	go func() {
		for range ch {
			if err := writeDump(path); err != nil {
				fmt.Fprintln(os.Stderr, "dump:", err)
			}
		}
	}()
}

// serveStdin runs the command loop; more(k) serves k more requests.
func serveStdin(more func(k int)) {
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		cmd, arg, _ := strings.Cut(strings.TrimSpace(in.Text()), " ")
		switch cmd {
		case "more":
			k, err := strconv.Atoi(arg)
			if err != nil || k < 0 {
				fmt.Fprintln(os.Stderr, "bad count:", arg)
				continue
			}
			more(k)
			ready()
		case "dump":
			if err := writeDump(arg); err != nil {
				fmt.Fprintln(os.Stderr, "dump:", err)
				continue
			}
			fmt.Printf("dumped %s\n", arg)
		case "quit":
			return
		}
	}
}
