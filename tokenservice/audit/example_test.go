package audit_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/datamask/datamask"
	"github.com/datamask/datamask/tokenservice/audit"
	"github.com/datamask/datamask/tokenvault"
)

// Lines chain: Verify finds the line after an edited one.
func ExampleVerify() {
	key, _ := datamask.GenerateLocalKey()
	keyring, _ := datamask.NewLocalKeyring(key)
	provider, _ := tokenvault.NewProvider(keyring)
	var trail bytes.Buffer
	l, err := audit.New(context.Background(), &trail, provider) // or audit.OpenFile
	if err != nil {
		log.Fatal(err)
	}
	for _, outcome := range []string{audit.OutcomeDenied, audit.OutcomeOK} {
		l.Write(context.Background(), &audit.Event{
			Time: time.Now(), Caller: "apikey:orders", Tenant: "acme", Policy: "card",
			Operation: "detokenize", Purpose: "paybill", Outcome: outcome, Status: 200, Count: 1,
			Tokens: []string{l.TokenHash("acme", "card", "5293-0816-4472-1234")},
		})
	}
	l.Close()

	s, err := audit.Verify(bytes.NewReader(trail.Bytes()), "")
	fmt.Println(s.Lines, s.Events, err)

	edited := strings.Replace(trail.String(), `"outcome":"denied"`, `"outcome":"ok"`, 1)
	_, err = audit.Verify(strings.NewReader(edited), "")
	var ce *audit.ChainError
	fmt.Println(errors.As(err, &ce), ce.Line)
	// Output:
	// 3 2 <nil>
	// true 3
}
