// Command sessionconsole is the session management service of the Personal
// Paraguay Fiber Comments Analysis System and the web console that operates it.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		os.Stderr.WriteString("sessionconsole: " + err.Error() + "\n")
		os.Exit(1)
	}
}
