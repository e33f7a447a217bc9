package localserver

import (
	"mime"
	"net"
	"net/http"
	"strings"
)

// The local server runs on a developer's machine, where any web page the
// developer opens can make the browser send it requests. Two checks, on
// every request before any route runs, keep those pages out (see
// docs/security.md, "Threat model of the /local/* routes"):
//
//   - the Host must name this server by a loopback name and its own port,
//     which turns away DNS rebinding (a page's own name resolving to
//     127.0.0.1 still sends that name as the Host);
//   - a state-changing /local/ route needs Content-Type: application/json,
//     which a cross-site page cannot send without a CORS preflight, and the
//     server grants no preflight.

// loopbackNames are the Host names the local server answers to.
var loopbackNames = map[string]bool{"127.0.0.1": true, "localhost": true, "::1": true}

// addressedToUs reports whether r's Host is a loopback name with the port r
// came in on. Without the connection's local address (a request that did
// not come from an http.Server) nothing is addressed to us.
func addressedToUs(r *http.Request) bool {
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return false
	}
	_, ourPort, err := net.SplitHostPort(local.String())
	if err != nil {
		return false
	}
	host, port, err := net.SplitHostPort(r.Host)
	if err != nil {
		return false // no port: a browser always sends one for a port other than 80
	}
	return loopbackNames[strings.ToLower(host)] && port == ourPort
}

// needsJSON reports whether r is a state-changing request to a /local/
// route other than a simulator's (outside is the simulated APIs' own
// contract, such as Salesforce's form-encoded OAuth token request; they
// check their own credentials).
func (g *Gateway) needsJSON(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	if !strings.HasPrefix(r.URL.Path, "/local/") {
		return false
	}
	for _, prefix := range g.simulators {
		if strings.HasPrefix(r.URL.Path, prefix) {
			return false
		}
	}
	return true
}

// isJSON reports whether r says its body is JSON (parameters such as a
// charset are allowed).
func isJSON(r *http.Request) bool {
	media, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && media == "application/json"
}

// guard answers a request the local server must not serve, and reports
// whether it did.
func (g *Gateway) guard(w http.ResponseWriter, r *http.Request) bool {
	switch {
	case !addressedToUs(r):
		writeError(w, http.StatusMisdirectedRequest, "MISDIRECTED_REQUEST",
			"This local server answers only requests addressed to 127.0.0.1, localhost or [::1] with its own port.")
		return true
	case g.needsJSON(r) && !isJSON(r):
		writeError(w, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE",
			"Send this request with Content-Type: application/json.")
		return true
	}
	return false
}
