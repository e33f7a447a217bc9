package lambdatest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/dcs-access/dcs-access/internal/salesforce/sfsim"
)

// The sample plan's Salesforce (events/put-sandbox-plan.json).
const (
	sampleConsumerKey = "3MVG9A2kN3Bn17hsWsLDatw._IVMEUBoPKv.7ksp0tz7xLX4tWhVgoLpVmTUgmNzq6Z0xGnPAGJXj7c3X3j8d"
	sampleUsername    = "dcs-pipeline@acme.com"
	sampleKeySecret   = "dcs-access/acme/salesforce-jwt-key-h7Kq2P" // its ARN's name, which moto finds by partial ARN
	sampleApexClass   = "PrepareSandbox"
)

// salesforceKey is the sample integration user's key, made once: RSA key
// generation is slow.
var salesforceKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// salesforceWorld is Salesforce as the built functions reach it, without
// leaving the machine: the simulator behind a TLS server whose certificate
// names Salesforce's hosts, an HTTPS proxy that takes the functions'
// connections to *.salesforce.com there (HTTPS_PROXY), and that certificate
// as the only root they trust (SSL_CERT_FILE). The functions' own HTTP
// clients, TLS included, talk to https://acme.my.salesforce.com as in AWS.
type salesforceWorld struct {
	sim      *sfsim.Sim
	proxyURL string
	caFile   string
}

// newSalesforceWorld serves the sample plan's org: its integration user,
// the sandboxes uat1 and uat2, and the plan's post-copy Apex class.
func newSalesforceWorld(t testing.TB) *salesforceWorld {
	t.Helper()
	certPEM, cert := salesforceCertificate(t)
	sim := sfsim.New(sfsim.Options{StepPerPoll: true})
	srv := httptest.NewUnstartedServer(sim)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	sim.SetBaseURL("https://acme.my.salesforce.com")
	sim.TrustKey(sampleConsumerKey, &salesforceKey().PublicKey)
	sim.AddProdUsers(sfsim.User{Username: sampleUsername, Profile: "System Administrator"}, sfsim.User{Username: "dcs-connector@acme.com"})
	for _, name := range []string{"uat1", "uat2"} {
		sim.AddSandbox(name, "PARTIAL")
	}
	sim.AddApexClass(sampleApexClass, "")

	caFile := filepath.Join(t.TempDir(), "salesforce-ca.pem")
	if err := os.WriteFile(caFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	proxy := httptest.NewServer(connectProxy(t, srv.Listener.Addr().String()))
	t.Cleanup(proxy.Close)
	return &salesforceWorld{sim: sim, proxyURL: proxy.URL, caFile: caFile}
}

// env points a function at the world: what AWS's network and public CAs
// are to it there.
func (w *salesforceWorld) env(env map[string]string) {
	env["HTTPS_PROXY"] = w.proxyURL
	env["SSL_CERT_FILE"] = w.caFile
}

// salesforceCertificate is a self-signed certificate for Salesforce's login
// and My Domain hosts.
func salesforceCertificate(t testing.TB) ([]byte, tls.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "salesforce.com (lambdatest)"},
		DNSNames:     []string{"login.salesforce.com", "test.salesforce.com", "*.my.salesforce.com", "*.sandbox.my.salesforce.com"},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	cert, err := tls.X509KeyPair(certPEM, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	if err != nil {
		t.Fatal(err)
	}
	return certPEM, cert
}

// connectProxy tunnels CONNECT requests for *.salesforce.com:443 to target
// and refuses anything else, so a function that would reach another host
// fails as it would without a route.
func connectProxy(t testing.TB, target string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, port, _ := net.SplitHostPort(r.Host)
		if r.Method != http.MethodConnect || port != "443" || !strings.HasSuffix(host, ".salesforce.com") {
			http.Error(w, "this proxy reaches only Salesforce's hosts", http.StatusForbidden)
			return
		}
		upstream, err := net.Dial("tcp", target)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			upstream.Close()
			t.Errorf("proxy: hijack: %v", err)
			return
		}
		if _, err := conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
			conn.Close()
			upstream.Close()
			return
		}
		go func() {
			defer upstream.Close()
			defer conn.Close()
			_, _ = io.Copy(upstream, buf) // what the client sent after CONNECT, then the rest
		}()
		go func() {
			defer conn.Close()
			_, _ = io.Copy(conn, upstream)
		}()
	})
}

// putSampleKey stores the sample integration user's key as the sample
// plan's key secret in moto (again, if an earlier stack stored it).
func (p *motoPipeline) putSampleKey(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	value := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(salesforceKey())}))
	_, err := p.secrets.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(sampleKeySecret), SecretString: aws.String(value)})
	var exists *smtypes.ResourceExistsException
	if errors.As(err, &exists) {
		_, err = p.secrets.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(sampleKeySecret), SecretString: aws.String(value)})
	}
	if err != nil {
		t.Fatalf("store the sample Salesforce key in moto: %v", err)
	}
}
