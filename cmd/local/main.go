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
	"github.com/dcs-access/dcs-access/internal/salesforce/sfsim"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "address to listen on (keep it on loopback)")
	ddb := flag.String("dynamodb", "http://127.0.0.1:8000", "DynamoDB Local endpoint")
	table := flag.String("table", "dcs-access", "table name")
	data := flag.String("data", ".local", "folder for the local signing and session keys")
	sfnEndpoint := flag.String("stepfunctions", "", "the Step Functions stand-in (scripts/stepfunctions-local); empty: no pipeline routes")
	machine := flag.String("state-machine-arn", "", "the sandbox-refresh state machine's ARN in the stand-in")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	slog.SetDefault(log)
	cfg := localserver.Config{DynamoDBEndpoint: *ddb, Table: *table, DataDir: *data, Log: log,
		StepFunctionsEndpoint: *sfnEndpoint, StateMachineARN: *machine,
		// The simulated copy takes seconds where a real one takes hours, so
		// Salesforce's wait between refreshes of a sandbox is scaled too:
		// 5 days for a Partial Copy sandbox such as the demo's is a minute.
		Salesforce: sfsim.Options{IntervalScale: 1.0 / 7200}}
	if err := run(*addr, cfg); err != nil {
		log.Error("local server stopped", "error", err)
		os.Exit(1)
	}
}

// noticeInterval is how often make run looks for expiry notices that are due.
const noticeInterval = 5 * time.Second

// auditStreamInterval is how often make run reads the table's stream for
// new audit events (Lambda polls a DynamoDB stream about 4 times a second).
const auditStreamInterval = 250 * time.Millisecond

func run(addr string, cfg localserver.Config) error {
	// Started with SIGINT ignored, as a script's background job is (make
	// run), Ctrl-C is for the script, which stops us with SIGTERM; asking for
	// SIGINT would undo that.
	stopOn := []os.Signal{syscall.SIGTERM}
	if !signal.Ignored(os.Interrupt) {
		stopOn = append(stopOn, os.Interrupt)
	}
	ctx, stop := signal.NotifyContext(context.Background(), stopOn...)
	defer stop()
	if err := loopbackOnly(addr); err != nil {
		return err
	}
	// Listen first: the simulators are served under the server's own URL.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	cfg.BaseURL = base
	setup, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	handler, err := localserver.New(setup, cfg)
	if err != nil {
		return err
	}
	go handler.RunSchedules(ctx, time.Now)
	// Expiry notices every few seconds (in AWS every 15 minutes), so a
	// token made with a lifespan of 7 days or 1 day shows its notice at once.
	go handler.RunNotices(ctx, noticeInterval)
	// The audit events onto the local bus, from the table's stream, as the
	// stream's consumer does in AWS.
	go handler.AuditStream.Run(ctx, auditStreamInterval)
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	fmt.Printf(`dcs-access is serving on %[1]s (DynamoDB Local at %[2]s)

The console (API Tokens, Sandbox refreshes): open %[1]s/ in a browser.

Sign in (a local session for 12 hours):
  SESSION=$(curl -s -X POST %[1]s/local/sessions -H 'Content-Type: application/json' -d '{"email":"ada@example.com","tenant":"acme"}' | jq -r .token)
Create an API token:
  curl -s -X POST %[1]s/api-tokens -H "Authorization: Bearer $SESSION" -d '{"description":"nightly masking","lifespanDays":30}'
Then:
  curl -s %[1]s/whoami -H "Authorization: Bearer <token>"
%[3]sStop with Ctrl-C.
`, base, cfg.DynamoDBEndpoint, pipelineHelp(base, cfg))
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

// loopbackOnly refuses an address that other machines could reach: the
// local stack signs anyone in (POST /local/sessions) and must never be on a
// network.
func loopbackOnly(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-addr %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-addr %q: listen on a loopback address such as 127.0.0.1:3000; the local stack must not be reachable from other machines", addr)
	}
	return nil
}

func pipelineHelp(base string, cfg localserver.Config) string {
	if cfg.StepFunctionsEndpoint == "" {
		return ""
	}
	return fmt.Sprintf(`A sandbox refresh against the simulated Salesforce and DCS:
  PLAN=$(curl -s -X POST %[1]s/local/sandbox-demo -H "Authorization: Bearer $SESSION" -H 'Content-Type: application/json')
  curl -s -X PUT %[1]s/sandbox-plans/uat1 -H "Authorization: Bearer $SESSION" -d "$PLAN"
  curl -s -X POST %[1]s/sandbox-refreshes -H "Authorization: Bearer $SESSION" -d '{"sandbox":"uat1"}'
  curl -s %[1]s/sandbox-refreshes/<id> -H "Authorization: Bearer $SESSION"
`, base)
}
