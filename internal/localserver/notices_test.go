package localserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/dcs-access/dcs-access/internal/dynamo"
	"github.com/dcs-access/dcs-access/internal/localserver"
	"github.com/dcs-access/dcs-access/internal/testenv"
)

// noticesOf returns the notice ids on the local bus.
func noticesOf(h *localserver.Server) []string {
	var out []string
	for _, e := range h.Bus.Events() {
		var d struct {
			NoticeID string `json:"noticeId"`
		}
		if json.Unmarshal(e.Detail, &d) == nil && d.NoticeID != "" && e.Source == "dcs-access" {
			out = append(out, e.DetailType+" "+d.NoticeID)
		}
	}
	slices.Sort(out)
	return out
}

func TestTheLocalStackSendsExpiryNoticesOntoItsBus(t *testing.T) {
	client, table := testenv.Table(t)
	h, err := localserver.NewWith(dynamo.New(client, table, time.Now), key(t), key(t), localserver.Config{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	h.Notices.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go h.RunNotices(ctx, 20*time.Millisecond)

	session := signIn(t, srv, "ada@example.com", "acme")
	ids := map[int]string{}
	for _, days := range []int{1, 7, 30} {
		status, created := call(t, srv, "POST", "/api-tokens", session, fmt.Sprintf(`{"description":"%d days","lifespanDays":%d}`, days, days))
		if status != 201 {
			t.Fatalf("create: got %d %v", status, created)
		}
		ids[days] = created["id"].(string)
	}
	want := []string{"API Token Expiring " + ids[1] + "/expiring-1-day", "API Token Expiring " + ids[7] + "/expiring-7-days"}
	if !testenv.Eventually(5*time.Second, func() bool { return slices.Equal(noticesOf(h), want) }) {
		t.Fatalf("got notices %q on the local bus, want %q", noticesOf(h), want)
	}
	// More runs send nothing more.
	for range 3 {
		if _, err := h.Notices.Run(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := noticesOf(h); !slices.Equal(got, want) {
		t.Fatalf("after more runs got %q, want %q", got, want)
	}

	// The list says how soon each expires.
	status, list := call(t, srv, "GET", "/api-tokens", session, "")
	texts := map[string]any{}
	for _, it := range list["items"].([]any) {
		item := it.(map[string]any)
		texts[item["id"].(string)] = item["expiresInDays"]
	}
	if status != 200 || texts[ids[1]] != 1.0 || texts[ids[7]] != 7.0 || texts[ids[30]] != nil {
		t.Fatalf("got expiresInDays %v, want 1, 7 and none for 30 days", texts)
	}
}
