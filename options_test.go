package datamask_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/datamask/datamask"
)

// TestNewOptionErrors checks that New refuses nil and repeated options
// with an error naming the option, instead of keeping the last one.
func TestNewOptionErrors(t *testing.T) {
	marshal := func(any) ([]byte, error) { return []byte("{}"), nil }
	unmarshal := func([]byte, any) error { return nil }
	tests := []struct {
		name string
		opts []datamask.Option
		msg  string
	}{
		{"nil option", []datamask.Option{nil}, "datamask: New: nil Option"},
		{"nil provider", []datamask.Option{datamask.WithProvider(nil)}, "datamask: WithProvider: provider is nil"},
		{"provider twice", []datamask.Option{datamask.WithProvider(base64Provider{}), datamask.WithProvider(base64Provider{})}, "datamask: WithProvider given twice"},
		{"nil marshal", []datamask.Option{datamask.WithJSONCodec(nil, unmarshal)}, "marshal and unmarshal must both be set"},
		{"nil unmarshal", []datamask.Option{datamask.WithJSONCodec(marshal, nil)}, "marshal and unmarshal must both be set"},
		{"codec twice", []datamask.Option{datamask.WithJSONCodec(marshal, unmarshal), datamask.WithJSONCodec(marshal, unmarshal)}, "datamask: WithJSONCodec given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := datamask.New(tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("New(%s) = %v, %v, want an error containing %q", tt.name, m, err, tt.msg)
			}
		})
	}
}

// leakyMarshaler fails with an error that quotes its value, as a careless
// MarshalJSON or UnmarshalJSON may.
type leakyMarshaler struct{ SSN string }

func (l leakyMarshaler) MarshalJSON() ([]byte, error) {
	return nil, errors.New("cannot marshal ssn " + l.SSN)
}

func (l *leakyMarshaler) UnmarshalJSON(b []byte) error {
	return errors.New("cannot unmarshal " + string(b))
}

// TestCodecErrorsKeepValuesOut checks that the text of a codec error,
// which may quote the value, stays out of the Value methods' errors while
// the error stays reachable, and that they match ErrUnsupportedType.
func TestCodecErrorsKeepValuesOut(t *testing.T) {
	const secret = "123-45-6789"
	m, err := datamask.New(datamask.WithProvider(base64Provider{}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, eraseErr := m.EraseValue(leakyMarshaler{SSN: secret}, datamask.Fields("ssn"))
	_, encErr := m.EncryptValue(ctx, leakyMarshaler{SSN: secret})
	enc, err := m.Encrypt(ctx, []byte(`{"ssn": "`+secret+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	var out leakyMarshaler
	decErr := m.DecryptValue(ctx, json.RawMessage(enc), &out)
	for name, err := range map[string]error{"EraseValue": eraseErr, "EncryptValue": encErr, "DecryptValue": decErr} {
		if !errors.Is(err, datamask.ErrUnsupportedType) {
			t.Errorf("%s with a failing codec = %v, want ErrUnsupportedType", name, err)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s error %q shows the value", name, err)
		}
		var me *json.MarshalerError
		if name != "DecryptValue" && !errors.As(err, &me) {
			t.Errorf("%s error %v does not keep the *json.MarshalerError", name, err)
		}
		if name == "DecryptValue" && !strings.Contains(joined(err), "cannot unmarshal") {
			t.Errorf("DecryptValue error %v does not keep the codec's error", err)
		}
	}
}

// joined returns the texts of the errors err wraps directly.
func joined(err error) string {
	var b strings.Builder
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range u.Unwrap() {
			b.WriteString(e.Error())
		}
	}
	return b.String()
}
