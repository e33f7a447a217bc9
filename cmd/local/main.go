// Command local serves the dcs-access API on loopback with DynamoDB Local
// behind it: what `make run` starts. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/dcs-access/dcs-access/internal/localserver"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "address to listen on (keep it on loopback)")
	ddb := flag.String("dynamodb", "http://127.0.0.1:8000", "DynamoDB Local endpoint")
	table := flag.String("table", "dcs-access", "table name")
	data := flag.String("data", ".local", "folder for the local signing and session keys")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	slog.SetDefault(log)
	if err := run(*addr, *ddb, *table, *data, log); err != nil {
		log.Error("local server stopped", "error", err)
		os.Exit(1)
	}
}

func run(addr, ddb, table, data string, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	setup, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	handler, err := localserver.New(setup, localserver.Config{DynamoDBEndpoint: ddb, Table: table, DataDir: data, Log: log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	base := "http://" + ln.Addr().String()
	fmt.Printf(`dcs-access is serving on %[1]s (DynamoDB Local at %[2]s)

Sign in (a local session for 12 hours):
  SESSION=$(curl -s -X POST %[1]s/local/sessions -d '{"email":"ada@example.com","tenant":"acme"}' | jq -r .token)
Create an API token:
  curl -s -X POST %[1]s/api-tokens -H "Authorization: Bearer $SESSION" -d '{"description":"nightly masking","lifespanDays":30}'
Then:
  curl -s %[1]s/whoami -H "Authorization: Bearer <token>"
Stop with Ctrl-C.
`, base, ddb)
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
