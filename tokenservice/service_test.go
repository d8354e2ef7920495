package tokenservice_test

import (
	"net/http"
	"testing"

	"github.com/datamask/datamask/kmstest"
	"github.com/datamask/datamask/tokenservice"
	"github.com/datamask/datamask/tokenservice/servicetest"
)

// TestLoopbackAPIKeys runs the client suite against the service on a
// loopback listener, callers authenticated by API keys, every request
// and answer checked against the OpenAPI document.
func TestLoopbackAPIKeys(t *testing.T) {
	spec := loadOpenAPI(t)
	servicetest.Run(t, func(t *testing.T) *servicetest.Harness {
		e := newEnv(t, nil)
		keys, creds := apiKeys(t)
		s := e.service(t, tokenservice.WithAuthenticator(keys), tokenservice.WithRights(revealRights(t)))
		srv := loopback(t, s)
		t.Cleanup(func() { spec.checkCoverage(t) })
		return &servicetest.Harness{
			URL:        srv.URL,
			Client:     &http.Client{Transport: spec.validating(t, http.DefaultTransport)},
			Credential: func(caller string) string { return bearer(creds[caller]) },
			AuditLines: func() []map[string]any { return e.auditLines(t) },
			KMSCalls:   func(op string) int { return e.kms.Calls(kmstest.Op(op)) },
			Records:    func() int { return e.records(t) },
		}
	})
}
