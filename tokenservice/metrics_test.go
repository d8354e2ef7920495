package tokenservice_test

import (
	"bufio"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/datamask/datamask/tokenservice"
	"github.com/datamask/datamask/tokenservice/servicetest"
)

var (
	sampleLine = regexp.MustCompile(`^([a-z_]+)(\{[a-z_]+="[^"\n]*"(,[a-z_]+="[^"\n]*")*\})? ([0-9.e+-]+)$`)
	helpLine   = regexp.MustCompile(`^# (HELP [a-z_]+ .+|TYPE [a-z_]+ (counter|gauge|histogram))$`)
)

// TestMetricsExposition: GET /metrics is the Prometheus text format:
// every line a comment or a sample, every sample's family declared,
// histogram buckets cumulative, and _count equal to the +Inf bucket and to
// the requests counted by status.
func TestMetricsExposition(t *testing.T) {
	e := newEnv(t, nil)
	keys, creds := apiKeys(t)
	srv := loopback(t, e.service(t, tokenservice.WithAuthenticator(keys)))
	admin := creds[servicetest.Admin]
	for i := range 5 {
		call(t, srv.URL, admin, "/v1/tokenize", `{"policy":"opaque","value":"v`+strconv.Itoa(i)+`"}`)
	}
	call(t, srv.URL, "wrong", "/v1/tokenize", `{"policy":"opaque","value":"x"}`)
	var m strings.Builder
	if _, err := e.metrics.WriteTo(&m); err != nil {
		t.Fatal(err)
	}
	types := map[string]string{}
	var lastBucket float64
	requests := 0.0
	sc := bufio.NewScanner(strings.NewReader(m.String()))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			if !helpLine.MatchString(line) {
				t.Errorf("bad comment line %q", line)
			}
			if f := strings.Fields(line); f[1] == "TYPE" {
				types[f[2]] = f[3]
			}
			continue
		}
		sm := sampleLine.FindStringSubmatch(line)
		if sm == nil {
			t.Errorf("bad sample line %q", line)
			continue
		}
		name := sm[1]
		family := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
		if types[family] == "" {
			t.Errorf("sample %s of an undeclared family", name)
		}
		v, _ := strconv.ParseFloat(sm[4], 64)
		route := strings.Contains(line, `route="/v1/tokenize"`)
		switch {
		case name == "datamask_http_requests_total" && route:
			requests += v
		case name == "datamask_http_request_duration_seconds_bucket" && route:
			if v < lastBucket {
				t.Errorf("bucket %q below the one before", line)
			}
			lastBucket = v
		case name == "datamask_http_request_duration_seconds_count" && route:
			if v != lastBucket || v != requests || v != 6 {
				t.Errorf("count %v, +Inf bucket %v, requests %v: want 6 each", v, lastBucket, requests)
			}
		}
	}
	if !strings.Contains(m.String(), `datamask_http_requests_total{route="/v1/tokenize",code="401"} 1`) {
		t.Errorf("the 401 is not counted:\n%s", m.String())
	}
}
